"""A worker's database connections: a burst of requests beyond the pool waits for its connections and opens no
more (DATABASE_POOL_SIZE, no overflow)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, StartWorkers
from tests.db import to_asyncpg_dsn
from tests.vault import upload_one

POOL = 3
BURST = 10


async def _waiting_on_locks(watcher: asyncpg.Connection) -> int:
    """Backends of this database waiting for a lock: here, the worker's requests queued on the held file row.
    Read outside any transaction (one would keep its first snapshot of pg_stat_activity)."""
    return int(
        await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    )


async def test_a_burst_beyond_the_pool_waits_for_its_connections_and_opens_no_more(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    login: Login,
    start_workers: StartWorkers,
    settings: Settings,
    database_url: str,
) -> None:
    """Ten renewals of one check-out reach a worker whose pool has three connections while the test holds the
    file's row: three wait on that row, each on a connection of the pool; the other seven wait for a connection
    instead of opening their own (with an overflow they were ten backends). All ten are answered once it is free."""
    await make_user("anna", Role.user)
    anna = await login("anna")
    part = await upload_one(client, anna, "pool/held.nc", b"G0 X0\n")
    r = await client.post(f"/api/files/{part['id']}/checkout", json={}, headers=anna)
    assert r.status_code == 200, r.text
    [worker] = start_workers(1, database_pool_size=POOL, secret_key=settings.secret_key)
    holder = await asyncpg.connect(to_asyncpg_dsn(database_url))
    watcher = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        async with httpx.AsyncClient(base_url=worker.url, timeout=60) as on_worker:
            row = holder.transaction()
            await row.start()
            try:
                await holder.execute("SELECT 1 FROM files WHERE id = $1 FOR UPDATE", part["id"])
                renew = f"/api/files/{part['id']}/renew"
                renewals = [asyncio.create_task(on_worker.post(renew, headers=anna)) for _ in range(BURST)]
                deadline = time.monotonic() + 30
                while await _waiting_on_locks(watcher) < POOL:
                    assert time.monotonic() < deadline, "the renewals never reached the file's row"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.0)  # room for more backends to queue, were the worker to open them
                assert await _waiting_on_locks(watcher) == POOL
                assert not any(t.done() for t in renewals)
            finally:
                await row.rollback()
            answers = await asyncio.gather(*renewals)
        assert [a.status_code for a in answers] == [200] * BURST, [a.text for a in answers if a.status_code != 200]
    finally:
        await holder.close()
        await watcher.close()
