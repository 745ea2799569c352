"""Alembic environment (from `alembic init -t async`), with the URL taken from Settings.

Migrations connect as the schema's owner (MIGRATION_DATABASE_URL, see app/core/db.py) and end by granting the
app's role what it may do (app/core/database_roles.py), in the same transaction.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app import models  # noqa: F401  registers every table
from app.core.config import get_settings
from app.core.database_roles import AppRole, grant_app_role
from app.core.db import MIGRATION_LOCK, Base, app_role_for, resolve_migration_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _target() -> tuple[str, AppRole | None]:
    """The owner's URL and the app role to grant to: given by the caller (app.cli.run_migrations, tests), or
    from the settings when alembic runs on its own."""
    if "database_url" in config.attributes:
        return config.attributes["database_url"], config.attributes.get("app_role")
    settings = get_settings()
    url = resolve_migration_url(settings)
    return url, app_role_for(settings, url)


def _url() -> str:
    return _target()[0]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection, app_role: AppRole | None) -> None:
    # A session-level lock: it outlives the commit below. Commit first, unlock second, so the next
    # replica in line reads the new alembic_version instead of migrating again; on failure roll
    # back first, since an aborted transaction could not even run the unlock.
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    try:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            if app_role is not None:
                grant_app_role(connection, app_role)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()


async def run_async_migrations() -> None:
    url, app_role = _target()
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations, app_role)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
