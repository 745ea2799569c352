"""What the benchmarks run against: a fresh database, users, a catalog and Gunicorn with two Uvicorn workers."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from app.cli import run_migrations
from app.core.config import Settings
from app.core.db import asyncpg_dsn, resolve_migration_url
from app.core.security import create_access_token
from app.models import Role
from app.schemas.user import UserCreate
from app.services.paths import name_sort_key, path_key
from tests.db import create_database, drop_database
from tests.deploy.native import start_entrypoint, stop, wait_for
from tests.live_server import SECRET_KEY, free_port, server_env

PASSWORD = "bench password 1234"
BENCH_USER = "bench"
HOLDER = "holder"  # holds a lock on some seeded files, so listings join real lock rows
RACER = "racer{:03d}"  # the lock race's and the fan-out's users, one token each
WORKERS = 2


@contextmanager
def database(tmp: Path) -> Iterator[str]:
    """A new, migrated database: on DATABASE_URL's server when set, else on an embedded server under `tmp`.

    The database is dropped at the end. The embedded server stops when this process exits (it is the
    server's only holder); the caller removes `tmp` after that.
    """
    given = os.environ.get("DATABASE_URL")
    # The owner's connection: it creates the database and migrates it (the app role could do neither).
    server = resolve_migration_url(
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


async def add_racers(url: str, count: int) -> None:
    """`count` more users, copies of the bench user (its password hash): hashing 200 passwords would take longer
    than the benchmarks that need them."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            """
            INSERT INTO users (username, full_name, password_hash, role)
            SELECT format('racer%s', lpad(g::text, 3, '0')), format('Racer %s', g), password_hash, role
            FROM users, generate_series(0, $1::int - 1) AS g WHERE username = $2
            """,
            count,
            BENCH_USER,
        )
    finally:
        await conn.close()


async def tokens(url: str) -> dict[str, tuple[int, str]]:
    """Every user's id and a bearer token signed with the server's key, as `POST /api/auth/token` would issue."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT id, username, token_version FROM users ORDER BY id")
    finally:
        await conn.close()
    return {
        r["username"]: (r["id"], create_access_token(r["id"], r["token_version"], SECRET_KEY, 600)[0]) for r in rows
    }


def seed_path(g: int) -> str:
    """The path of seeded file number g (from 1), the same as seed_catalog's SQL writes."""
    return f"Jobs/J{g % 250:04d}/OP{g:05d}-finish.nc"


async def seeded_count(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM files WHERE path LIKE 'Jobs/%'"))
    finally:
        await conn.close()


async def seed_catalog(url: str, paths: list[str], blob_sha: str, commit_sha: str, size: int) -> None:
    """Add `paths` to the catalog (files, one version each), every 20th checked out by HOLDER.

    Written with SQL, but rows like an upload's: every row points at a real blob and at the real commit that
    added its path to the vault's Git tree (the caller made it), so listing, metadata and download all work on
    them. Paths are seed_path(g) (250 job folders), so path and path_key differ in case.
    """
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            users = dict(
                await conn.fetch("SELECT username, id FROM users WHERE username = ANY($1)", [BENCH_USER, HOLDER])
            )
            author, holder = users[BENCH_USER], users[HOLDER]
            new = await conn.fetch(
                """
                INSERT INTO files (path, path_key, sort_key, size, blob_sha, head_commit, version,
                                   created_by, created_at, updated_by, updated_at)
                SELECT p, k, s, $4, $2, $3, 1,
                       $1, now() - g * interval '1 minute', $1, now() - g * interval '1 minute'
                FROM unnest($5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS t(p, k, s, g)
                RETURNING id
                """,
                author,
                blob_sha,
                commit_sha,
                size,
                paths,
                [path_key(p) for p in paths],
                [name_sort_key(path_key(p)) for p in paths],
            )
            ids = [r["id"] for r in new]
            await conn.execute(
                """
                INSERT INTO file_versions (file_id, version, path, commit_sha, blob_sha, size, author_id,
                                           author_name, message, created_at)
                SELECT id, 1, path, head_commit, blob_sha, size, created_by, $1, 'seeded by bench', created_at
                FROM files WHERE id = ANY($2)
                """,
                BENCH_USER,
                ids,
            )
            await conn.execute(
                """
                INSERT INTO locks (file_id, user_id, message, acquired_at, expires_at)
                SELECT id, $1, 'seeded by bench', now(), now() + interval '8 hours'
                FROM files WHERE id = ANY($2) AND id % 20 = 0
                """,
                holder,
                ids,
            )
            # Every seeded file has a data card: a part number (`P00007`: one file in 2,000 has each), a customer
            # (one of 40) and a description, so the listing's card filters run on a vault of cards.
            await conn.execute(
                """
                INSERT INTO card_values (file_id, field_id, value_text, value_lower)
                SELECT f.id, c.id, v, lower(v)
                FROM files f
                CROSS JOIN LATERAL (VALUES
                    ('part_number', 'P' || lpad((f.id % 2000)::text, 5, '0')),
                    ('customer', 'Customer ' || (f.id % 40)::text),
                    ('description', 'finish pass ' || (f.id % 7)::text)) AS t(k, v)
                JOIN card_fields c ON c.key = t.k
                WHERE f.id = ANY($1)
                """,
                ids,
            )
        # What autovacuum does to a table soon after a bulk insert; without it PostgreSQL's visibility map is empty
        # and every index-only scan (the listing's count) reads the table as well, a cost no real vault has for long.
        await conn.execute("VACUUM (ANALYZE) files, file_versions, locks, card_values")
    finally:
        await conn.close()


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one: 500 WebSockets plus 200 racing clients need the room,
    and the Gunicorn workers this process starts inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass
class Server:
    """Gunicorn with the container's docker/gunicorn.conf.py and two Uvicorn workers, reached directly."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    workdir: Path
    data_dir: Path

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()

    def stop(self) -> None:
        stop(self.proc)


def server_environment(url: str, tmp: Path, *, max_upload_bytes: int) -> tuple[dict[str, str], Path]:
    data_dir = tmp / "data"
    env = server_env(url, data_dir, max_upload_bytes=max_upload_bytes, log_level="INFO", serve_static="false")
    return env, data_dir


def start_server(url: str, tmp: Path, *, max_upload_bytes: int) -> Server:
    """The container's start (docker/entrypoint.sh: `alembic upgrade head`, here a no-op, then Gunicorn with
    docker/gunicorn.conf.py), two workers, on a free loopback port."""
    env, data_dir = server_environment(url, tmp, max_upload_bytes=max_upload_bytes)
    workdir = tmp / "server"
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = start_entrypoint(env, workdir, f"127.0.0.1:{port}", workers=WORKERS)
    server = Server(proc, f"http://127.0.0.1:{port}", port, workdir, data_dir)
    try:
        wait_for(f"{server.url}/readyz", proc, workdir / "app.log")
        deadline = time.monotonic() + 60
        while len(server.workers()) < WORKERS and time.monotonic() < deadline:  # readyz needed only one
            time.sleep(0.2)
    except BaseException:
        server.stop()
        raise
    return server


def camvault_command(env: dict[str, str], *args: str) -> str:
    """Run the `camvault` command (as an operator would) with the server's environment."""
    script = Path(sys.executable).with_name("camvault")
    done = subprocess.run(
        [str(script), *args], env=env, cwd=env["DATA_DIR"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"camvault {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()
