#!/bin/sh
# Restore a backup made by docker/backup.sh into an empty database and an empty vault.
#
#   docker compose down && docker volume rm camvault_pgdata camvault_vault   # or a new host
#   docker compose up -d --wait db            # the database only: the app must not start first
#   docker/restore.sh backups/2026-11-30
#   docker compose up -d
#
# Steps: wait until the database answers over TCP (on a fresh volume the postgres image first runs a
# temporary server on its socket only); refuse unless both targets are empty; pg_restore in one
# transaction; unbundle the vault; `camvault migrate` (a backup of an older release meets the current
# schema, and the app's role gets its privileges); `camvault reindex` (commits made between the dump and
# the bundle join the catalog).
#
# Where the commands run (tests/deploy/test_backup.py runs this file natively with all three set to `env`):
#   CAMVAULT_DB_EXEC       default "docker compose exec -T db": pg_isready, pg_restore and psql of the
#                          server's version
#   CAMVAULT_MIGRATE_EXEC  default "docker compose run --rm --no-deps -T migrate": camvault migrate, as the
#                          owner (only the migrate service has the owner's password)
#   CAMVAULT_APP_EXEC      default "docker compose run --rm --no-deps -T app": git and camvault, with the
#                          vault volume mounted, while the app itself is stopped
#   CAMVAULT_DB_WAIT_SECONDS  how long to wait for the database (default 120)
set -eu

src=${1:?usage: docker/restore.sh BACKUP_DIR (made by docker/backup.sh)}
db_exec=${CAMVAULT_DB_EXEC:-docker compose exec -T db}
migrate_exec=${CAMVAULT_MIGRATE_EXEC:-docker compose run --rm --no-deps -T migrate}
app_exec=${CAMVAULT_APP_EXEC:-docker compose run --rm --no-deps -T app}
wait_seconds=${CAMVAULT_DB_WAIT_SECONDS:-120}

for name in camvault.dump vault.bundle; do
    if [ ! -s "$src/$name" ]; then
        echo "restore: $src/$name is missing or empty" >&2
        exit 2
    fi
done

# The same probe as the db service's healthcheck: TCP (PGHOST, when set, names another address).
waited=0
until $db_exec sh -c 'exec pg_isready -q -h "${PGHOST:-127.0.0.1}" --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"'; do
    if [ "$waited" -ge "$wait_seconds" ]; then
        echo "restore: the database is not ready after ${wait_seconds} s; see \`docker compose logs db\`" >&2
        exit 1
    fi
    waited=$((waited + 1))
    sleep 1
done

# A vault that exists but has no refs is what the app creates on its first start: empty, usable.
if ! $app_exec sh -c 'test ! -e "$DATA_DIR/vault.git/HEAD" || test -z "$(git -C "$DATA_DIR/vault.git" for-each-ref)"'; then
    echo "restore: the vault (DATA_DIR/vault.git) already holds commits; restore into an empty one" >&2
    exit 1
fi
tables=$($db_exec sh -c 'exec psql -XAtq --username="$POSTGRES_USER" --dbname="$POSTGRES_DB" -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"')
if [ "$tables" != 0 ]; then
    echo "restore: the database already has $tables tables; restore into an empty one (start only the db service)" >&2
    exit 1
fi

$db_exec sh -c 'exec pg_restore --single-transaction --exit-on-error --no-owner --no-privileges --username="$POSTGRES_USER" --dbname="$POSTGRES_DB"' \
    < "$src/camvault.dump"

# The bundle travels on stdin into a temporary file beside the vault (git reads bundles from files).
$app_exec sh -c '
    set -eu
    vault="$DATA_DIR/vault.git"
    mkdir -p "$DATA_DIR"
    bundle=$(mktemp "$DATA_DIR/.restore-XXXXXX")
    trap "rm -f \"$bundle\"" EXIT
    cat > "$bundle"
    test -e "$vault/HEAD" || git init -q --bare --initial-branch=main "$vault"
    git -C "$vault" bundle verify -q "$bundle"
    git -C "$vault" fetch -q "$bundle" "+refs/*:refs/*"
' < "$src/vault.bundle"

$migrate_exec camvault migrate
$app_exec camvault reindex
echo "restored from $src"
