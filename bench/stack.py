"""What the benchmarks run against: a fresh database, users, a seeded catalog and one real Uvicorn worker."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from app.cli import run_migrations
from app.core.config import Settings
from app.core.db import asyncpg_dsn, resolve_database_url
from app.models import Role
from app.schemas.user import UserCreate
from tests.db import create_database, drop_database
from tests.live_server import LiveServer, server_env

PASSWORD = "bench password 1234"
BENCH_USER = "bench"
HOLDER = "holder"  # holds a lock on some seeded files, so listings join real lock rows
GIB = 1024**3


@contextmanager
def database(tmp: Path) -> Iterator[str]:
    """A new, migrated database: on DATABASE_URL's server when set, else on an embedded server under `tmp`.

    The database is dropped at the end. The embedded server stops when this process exits (it is the
    server's only holder); the caller removes `tmp` after that.
    """
    given = os.environ.get("DATABASE_URL")
    server = resolve_database_url(
        Settings(_env_file=None, database_url=given or None, data_dir=tmp / "pg-server")  # type: ignore[call-arg]
    )
    url = asyncio.run(create_database(server, prefix="bench"))
    try:
        run_migrations(url)
        yield url
    finally:
        asyncio.run(drop_database(url))


def users() -> list[UserCreate]:
    return [UserCreate(username=name, password=PASSWORD, role=Role.user) for name in (BENCH_USER, HOLDER)]


async def seed_catalog(url: str, count: int) -> None:
    """`count` catalog rows (files, one version each), every 20th checked out by HOLDER; written with SQL.

    These rows have no Git blobs behind them: fine for listings, which read only the catalog.
    Paths look like `Jobs/J0042/OP01234-finish.nc` (250 job folders), so path and path_key differ in case.
    """
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            users = dict(await conn.fetch("SELECT username, id FROM users"))
            author, holder = users[BENCH_USER], users[HOLDER]
            await conn.execute(
                """
                INSERT INTO files (path, path_key, size, blob_sha, head_commit, version,
                                   created_by, created_at, updated_by, updated_at)
                SELECT p, lower(p), 1000 + (g * 7919) % 5000000, md5(p) || substr(md5(g::text), 1, 8),
                       md5(g::text) || substr(md5(p), 1, 8), 1,
                       $1, now() - g * interval '1 minute', $1, now() - g * interval '1 minute'
                FROM generate_series(1, $2::int) AS g,
                     LATERAL (SELECT format('Jobs/J%s/OP%s-finish.nc', lpad((g % 250)::text, 4, '0'),
                                            lpad(g::text, 5, '0')) AS p) AS name
                """,
                author,
                count,
            )
            await conn.execute(
                """
                INSERT INTO file_versions (file_id, version, commit_sha, blob_sha, size, author_id, author_name,
                                           message, created_at)
                SELECT id, 1, head_commit, blob_sha, size, created_by, $1, 'seeded by bench', created_at FROM files
                """,
                BENCH_USER,
            )
            await conn.execute(
                """
                INSERT INTO locks (file_id, user_id, message, acquired_at, expires_at)
                SELECT id, $1, 'seeded by bench', now(), now() + interval '8 hours' FROM files WHERE id % 20 = 0
                """,
                holder,
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def start_server(url: str, tmp: Path, *, max_upload_bytes: int) -> LiveServer:
    """One Uvicorn worker process (tests/live_server.py), as Gunicorn runs each worker in production."""
    env = server_env(url, tmp / "data", max_upload_bytes=max_upload_bytes, log_level="INFO")
    return LiveServer(env, tmp / "server", name="camvault").start()
