"""Engine and session factory, and the declarative base with stable constraint names."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from app.core.config import Settings
from app.core.database_roles import APP_ROLE, AppRole

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Advisory-lock key ("cam" + 0) that alembic/env.py holds while it migrates: app replicas starting
# together take turns, and the later ones find nothing left to do.
MIGRATION_LOCK = 0x63616D0000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Fetch server-made values (ids, timestamps, onupdate) with RETURNING at flush time, so
    # objects stay readable after a commit without lazy IO, which async sessions cannot do.
    __mapper_args__ = {"eager_defaults": True}


def resolve_database_url(settings: Settings) -> str:
    """The app's connection: DATABASE_URL (its password from DATABASE_PASSWORD when set), otherwise the
    embedded server (started on first use), as the app's role."""
    if settings.database_url:
        return _asyncpg_url(settings.database_url, settings.database_password)
    from app.core.embedded_pg import embedded_server_url

    return embedded_server_url(settings.data_dir, user=APP_ROLE)


def resolve_migration_url(settings: Settings) -> str:
    """The schema owner's connection, for migrations: MIGRATION_DATABASE_URL, else DATABASE_URL (one role for
    both), else the embedded server's superuser."""
    if settings.migration_database_url:
        return _asyncpg_url(settings.migration_database_url, settings.migration_database_password)
    if settings.database_url:
        return resolve_database_url(settings)
    from app.core.embedded_pg import embedded_server_url

    return embedded_server_url(settings.data_dir)


def app_role_for(settings: Settings, migration_url: str) -> AppRole | None:
    """The role migrations grant the app's privileges to: DATABASE_URL's user (the embedded app role when
    DATABASE_URL is unset), or None when the app connects as the owner itself."""
    from sqlalchemy.engine import make_url

    if settings.database_url:
        url = make_url(_asyncpg_url(settings.database_url, settings.database_password))
        role = AppRole(url.username or "", url.password)  # type: ignore[arg-type]
    else:
        role = AppRole(APP_ROLE, None)  # the embedded server trusts local connections
    return None if role.name in ("", make_url(migration_url).username) else role


def _asyncpg_url(url: str, password: str | None) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+asyncpg://" + url[len(prefix) :]
            break
    if password is None:
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq-style DSN, for a connection made with asyncpg itself."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _json_default(value: object) -> str:
    # Audit details and event payloads name times (lock since/until); JSON has no datetime type.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


# What connecting raises while the server is down, restarting or full: OSError covers a refused TCP port
# and a unix socket that is gone; asyncpg's own cover "starting up / shutting down" and "too many clients".
_CONNECT_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


class DatabaseConnectError(ConnectionError):
    """Connecting to PostgreSQL failed: the server is down, restarting or out of connections.

    Still an OSError, as what it replaces was, so code that treats an unreachable database as an OSError keeps
    doing so; but one of our own, which the error handler can tell from any other OSError and answer with 503.
    """


# Session settings of every app connection. Our statements name their joins in the order to run them: the driving
# table first, then lookups by key. With PostgreSQL's default join_collapse_limit (8) the planner searches the orders
# of a file row's eight relations (app/repositories/files.py `file_rows_with`) on every execution: 12-15 ms of planning
# for 0.5 ms of execution at 50,000 files (EXPLAIN ANALYZE), the same plan. 1 keeps the written order (each join's two
# sides and its method are still the planner's choice), planned in under 1 ms.
SERVER_SETTINGS = {"join_collapse_limit": "1"}


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    # SQLAlchemy passes a failed connect's exception through unwrapped (an OSError for a refused port or a
    # missing socket): named here, where it can only mean the database.
    kwargs["server_settings"] = {**SERVER_SETTINGS, **kwargs.get("server_settings", {})}
    try:
        return await asyncpg.connect(*args, **kwargs)
    except _CONNECT_OUTAGES as exc:
        raise DatabaseConnectError(f"cannot connect to the database: {type(exc).__name__}: {exc}") from exc


def is_connection_lost(exc: BaseException) -> bool:
    """A statement failed because its connection died (server restarted, backend terminated): the pool has
    dropped that connection, and the same request on a fresh one may well succeed."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


@asynccontextmanager
async def read_outside_transaction(session: AsyncSession) -> AsyncIterator[None]:
    """Run the block's reads without a transaction (autocommit), when the session has none open yet.

    A lone read (a request's authentication) then costs its statement alone: no BEGIN before it and no
    ROLLBACK after. The connection goes back to the pool when the block ends, where its isolation level is
    reset, so the session's next statement begins a real transaction as usual. Objects read stay loaded
    (the sessionmaker does not expire on commit). Inside an open transaction the block just runs in it.
    """
    if session.in_transaction():
        yield
        return
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    yield
    await session.commit()  # nothing to commit: this ends the autocommit "transaction" and frees the connection


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20, pre_ping: bool = True) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        json_serializer=json_dumps,
        connect_args={"async_creator_fn": _connect},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
