#!/bin/sh
# camvault container entrypoint.
#
#   (no arguments)              Gunicorn with Uvicorn workers (the database must be migrated: see `migrate`)
#   migrate                     `camvault migrate`: alembic upgrade head as the owner (MIGRATION_DATABASE_URL),
#                               then the app role's privileges; docker-compose.yml's `migrate` service runs it
#                               before the app starts, so the app itself never holds the owner's password
#   camvault <command> ...      run the camvault CLI, e.g. `docker compose exec app camvault doctor`
#   create-user | doctor | serve | ...   shorthand for `camvault <command> ...`
#   alembic ... | python ... | sh ...     run that program (maintenance)
#   -... (options)              extra Gunicorn options for the default server
#
# `docker compose exec app camvault create-user NAME --role admin` does not pass through here
# at all: exec starts the command directly in the running container, where camvault is on PATH.
set -e

# The files beside this script, found from its own place rather than a fixed /app, and no `cd`:
# tests/deploy/test_stack.py runs this very file natively, from a scratch folder (so no .env of a
# developer's checkout is read). In the image this is /app.
APP_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

case "${1:-}" in
    "" | -*)
        # One stream for the server's whole life: `docker compose logs app`.
        exec 2>&1
        exec gunicorn 'app.main:create_app()' -c "$APP_DIR/docker/gunicorn.conf.py" "$@"
        ;;
    camvault | alembic | gunicorn | python | python3 | sh | bash | git)
        exec "$@"
        ;;
    migrate)
        # Several may run together (replicas on several hosts): alembic/env.py takes a PostgreSQL
        # advisory lock, so they migrate one at a time and the later ones find nothing to do.
        exec 2>&1
        exec camvault "$@"
        ;;
    serve | create-user | reindex | maintain | doctor)
        exec camvault "$@"
        ;;
    *)
        # Any other program on PATH (the usual Docker convention); otherwise hand it to camvault,
        # whose own usage message then names the known commands.
        if command -v "$1" >/dev/null 2>&1; then
            exec "$@"
        fi
        exec camvault "$@"
        ;;
esac
