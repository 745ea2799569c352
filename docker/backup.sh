#!/bin/sh
# Back up camvault into a new folder: a PostgreSQL dump, then a Git bundle of the vault.
#
#   docker/backup.sh backups/$(date +%F)      # on the host, beside docker-compose.yml
#
# It writes DEST/camvault.dump (pg_dump's custom format: users, catalog, locks, audit) and
# DEST/vault.bundle (every commit and ref of DATA_DIR/vault.git). Safe while people work.
#
# The dump comes first, the bundle second: then Git holds at least every version the catalog
# names. A check-in between the two is a commit the dump does not know; docker/restore.sh ends
# with `camvault reindex`, which adds it to the catalog.
#
# Where the two commands run (the defaults suit docker compose; tests/deploy/test_backup.py runs
# this file natively with both set to `env`):
#   CAMVAULT_DB_EXEC   default "docker compose exec -T db": pg_dump of the server's own version
#                      (the app image's Debian pg_dump may be older than PostgreSQL 17)
#   CAMVAULT_APP_EXEC  default "docker compose exec -T app": git, where the vault is mounted
# The single-quoted commands expand $POSTGRES_USER, $POSTGRES_DB and $DATA_DIR where they run:
# compose sets them in those containers.
set -eu

dest=${1:?usage: docker/backup.sh DEST_DIR (a new or empty folder)}
db_exec=${CAMVAULT_DB_EXEC:-docker compose exec -T db}
app_exec=${CAMVAULT_APP_EXEC:-docker compose exec -T app}

# The dump holds password hashes: only the owner may read the backup.
umask 077
mkdir -p "$dest"
if [ -n "$(ls -A "$dest")" ]; then
    echo "backup: $dest is not empty; give a new folder" >&2
    exit 2
fi

# Each file appears under its name only once complete, so a failed run leaves no file that
# looks like a good backup.
# presence (who has a socket open right now) names worker processes that a restore never has.
$db_exec sh -c 'exec pg_dump --format=custom --no-owner --no-privileges --exclude-table-data=presence --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"' \
    > "$dest/camvault.dump.partial"
mv "$dest/camvault.dump.partial" "$dest/camvault.dump"

$app_exec sh -c 'exec git -C "$DATA_DIR/vault.git" bundle create -q - --all' > "$dest/vault.bundle.partial"
mv "$dest/vault.bundle.partial" "$dest/vault.bundle"

echo "backup written to $dest: camvault.dump, vault.bundle"
