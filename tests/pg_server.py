"""The suite's PostgreSQL server (the `server_url` fixture) and its plain URL helpers.

Kept apart from tests/conftest.py and tests/db.py, which import the whole app: a pytest run of one small test
(tests/deploy/test_interrupted_test_run.py starts six) takes this fixture without paying for that import.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from app.core.embedded_pg import temporary_server_url


@pytest.fixture(scope="session")
def server_url() -> str:
    """A real PostgreSQL: DATABASE_URL when the environment gives one, else an embedded server of this run's own.

    The embedded server lives outside pytest's temporary root: a second pytest run on the machine resets that
    root's permissions to 0700, which would lock this run's server (another system user, when run as root)
    out of its own data directory.
    """
    given = os.environ.get("DATABASE_URL")
    if given:
        from app.core.config import Settings
        from app.core.db import resolve_database_url

        return resolve_database_url(Settings(_env_file=None, database_url=given))  # type: ignore[call-arg]
    # Stopped and deleted however pytest ends (Ctrl-C, SIGTERM, a crash): see temporary_server_url.
    url = temporary_server_url("camvault-test-pg-")
    asyncio.run(tune_throwaway_server(url))
    return url


def to_asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


# The suite's own embedded server is thrown away at the end of the run, so it need not survive a power cut:
# without fsync, CREATE DATABASE ... TEMPLATE (a checkpoint), DROP DATABASE and every commit stop waiting for
# the disk. A crash of PostgreSQL itself (the outage tests stop theirs with `-m immediate`) loses nothing: the
# WAL is still written to the OS before a commit returns.
THROWAWAY_SERVER_SETTINGS = {"fsync": "off", "full_page_writes": "off"}


async def tune_throwaway_server(server_url: str, timeout: float = 30) -> None:
    """Apply THROWAWAY_SERVER_SETTINGS to a test run's own server (never to one given by DATABASE_URL)."""
    conn = await asyncpg.connect(to_asyncpg_dsn(with_database(server_url, "postgres")))
    try:
        for name, value in THROWAWAY_SERVER_SETTINGS.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = {value}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    # The reload is a signal: wait until a new session sees it.
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        conn = await asyncpg.connect(to_asyncpg_dsn(with_database(server_url, "postgres")))
        try:
            values = {name: await conn.fetchval(f"SHOW {name}") for name in THROWAWAY_SERVER_SETTINGS}
        finally:
            await conn.close()
        if values == THROWAWAY_SERVER_SETTINGS:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"the test server kept {values} after a reload")
        await asyncio.sleep(0.05)
