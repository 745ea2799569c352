"""Two database roles: the owner runs migrations, the app reads and writes rows.

The audit log is append-only through a trigger, and a trigger only binds roles that cannot drop or disable it:
the table's owner (and any superuser) can. So the app never connects as the owner. After every migration,
alembic/env.py calls `grant_app_role`, which gives the app's role exactly what it needs on every table that
exists then, and sets default privileges so tables the owner creates later are readable and writable by it too
(the next migration re-applies the narrower rules below to them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

logger = logging.getLogger(__name__)

# The app's role in the embedded default (`make run`) and in docker-compose.yml.
APP_ROLE = "camvault_app"

# Rows here are only ever added: the app may INSERT and SELECT, nothing else.
APPEND_ONLY_TABLES = ("audit_events",)
# Alembic's bookkeeping: the app reads it (the start-up check), only migrations write it.
READ_ONLY_TABLES = ("alembic_version",)


@dataclass(frozen=True)
class AppRole:
    name: str
    # None: leave the role's password alone (the embedded server trusts local connections).
    password: str | None = None


def grant_app_role(connection: Connection, role: AppRole) -> None:
    """Create `role` if it is missing and give it the app's privileges on the current schema (idempotent)."""
    _ensure_role(connection, role)
    db, schema, name = connection.execute(
        text("SELECT quote_ident(current_database()), quote_ident(current_schema()), quote_ident(:role)"),
        {"role": role.name},
    ).one()
    statements = [
        # PUBLIC usually has CONNECT; a hardened server may have revoked it.
        f"GRANT CONNECT ON DATABASE {db} TO {name}",
        f"GRANT USAGE ON SCHEMA {schema} TO {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {name}",
        # Tables and sequences this (the owner) role creates from now on.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {name}",
    ]
    for table in _existing(connection, APPEND_ONLY_TABLES):
        statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {schema}.{table} FROM {name}")
    for table in _existing(connection, READ_ONLY_TABLES):
        statements.append(
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {schema}.{table} FROM {name}"
        )
    for statement in statements:
        connection.exec_driver_sql(statement)
    logger.info("database role %s granted the app's privileges", role.name)


def _existing(connection: Connection, tables: tuple[str, ...]) -> list[str]:
    """The tables of `tables` in the current schema (a downgrade may have dropped some)."""
    rows = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(:t)"),
        {"t": list(tables)},
    )
    return sorted(row[0] for row in rows)


def _ensure_role(connection: Connection, role: AppRole) -> None:
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role.name}).first()
    if exists is None:
        # format() quotes the name (%I) and the password (%L) inside PostgreSQL: DDL takes no bind parameters.
        if role.password is None:
            sql = connection.execute(text("SELECT format('CREATE ROLE %I LOGIN', CAST(:r AS text))"), {"r": role.name})
        else:
            sql = connection.execute(
                text("SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', CAST(:r AS text), CAST(:p AS text))"),
                {"r": role.name, "p": role.password},
            )
        try:
            with connection.begin_nested():
                connection.exec_driver_sql(sql.scalar_one())
            logger.info("database role %s created", role.name)
            return
        except DBAPIError as exc:
            # Two migrators at once (roles are cluster-wide, the migration lock is per database): the other won.
            if getattr(exc.orig, "sqlstate", None) != "42710":  # duplicate_object
                raise RuntimeError(
                    f"cannot create the app's database role {role.name!r} as the migrating role: create it yourself "
                    f"(CREATE ROLE {role.name} LOGIN PASSWORD '...') or migrate as a role with CREATEROLE"
                ) from exc
    if role.password is None:
        return
    # Keep the role's password equal to the app's setting, so changing it in one place (compose's .env) is enough.
    sql = connection.execute(
        text("SELECT format('ALTER ROLE %I PASSWORD %L', CAST(:r AS text), CAST(:p AS text))"),
        {"r": role.name, "p": role.password},
    )
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(sql.scalar_one())
    except DBAPIError:
        logger.warning(
            "could not set the password of database role %s (the migrating role lacks CREATEROLE); "
            "if the app cannot log in, set it yourself",
            role.name,
        )
