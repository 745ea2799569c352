"""The presence table's liveness rules, against the real database (no server processes)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import asyncpg_dsn
from app.models import Role
from app.services.presence import PresenceService
from tests.conftest import MakeUser, sql


class Listener:
    """The events channel, heard through a connection of the test's own."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.events: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    def heard(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        self.events.put_nowait(json.loads(payload))

    async def expect(self, kind: str, user: str, timeout: float = 5.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            event = await asyncio.wait_for(self.events.get(), max(0.01, deadline - time.monotonic()))
            if event["type"] == kind and event["user"] == user:
                return event


@pytest.fixture
async def listener(database_url: str) -> AsyncIterator[Listener]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    heard = Listener(conn)
    await conn.add_listener("camvault_events", heard.heard)
    yield heard
    await conn.close()


async def session_identity(database_url: str) -> tuple[asyncpg.Connection, int, datetime]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    row = await conn.fetchrow("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
    assert row is not None
    return conn, int(row["pid"]), row["backend_start"]


async def test_rows_of_ended_or_reused_sessions_are_swept_and_announced(
    app: FastAPI, make_user: MakeUser, db: AsyncSession, database_url: str, listener: Listener
) -> None:
    anna, bob, carl = [await make_user(n, Role.user) for n in ("anna", "bob", "carl")]
    live, live_pid, live_start = await session_identity(database_url)
    ended, ended_pid, ended_start = await session_identity(database_url)
    await ended.close()
    try:
        async with app.state.sessionmaker() as s:
            await PresenceService(s).join("a1", anna, worker_id="w1", backend_pid=live_pid, backend_start=live_start)
        async with app.state.sessionmaker() as s:
            await PresenceService(s).join("b1", bob, worker_id="w2", backend_pid=ended_pid, backend_start=ended_start)
        async with app.state.sessionmaker() as s:
            # The live pid, but a session that started at another time: a reused pid, not our worker.
            reused = live_start - timedelta(seconds=30)
            await PresenceService(s).join("c1", carl, worker_id="w3", backend_pid=live_pid, backend_start=reused)
        for name in ("anna", "bob", "carl"):
            await listener.expect("user_connected", name)

        async with app.state.sessionmaker() as s:
            await PresenceService(s).sweep(stale_seconds=60)  # the app's own upkeep may have been first

        for name in ("bob", "carl"):
            assert (await listener.expect("user_disconnected", name))["reason"] == "lost"
        assert await sql(db, "SELECT connection_id FROM presence") == [("a1",)]
    finally:
        await live.close()


async def test_a_stale_heartbeat_counts_as_dead_even_if_the_session_lives(
    app: FastAPI, make_user: MakeUser, db: AsyncSession, database_url: str, listener: Listener
) -> None:
    anna = await make_user("anna", Role.user)
    live, pid, start = await session_identity(database_url)
    try:
        async with app.state.sessionmaker() as s:
            await PresenceService(s).join("a1", anna, worker_id="w1", backend_pid=pid, backend_start=start)
        await db.execute(text("UPDATE presence SET heartbeat_at = now() - interval '2 minutes'"))
        await db.commit()
        async with app.state.sessionmaker() as s:
            await PresenceService(s).sweep(stale_seconds=60)
        await listener.expect("user_disconnected", "anna")
        assert await sql(db, "SELECT count(*) FROM presence") == [(0,)]
    finally:
        await live.close()


async def test_presence_is_an_unlogged_table(db: AsyncSession) -> None:
    assert await sql(db, "SELECT relpersistence::text FROM pg_class WHERE relname = 'presence'") == [("u",)]
