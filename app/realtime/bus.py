"""The worker's one LISTEN connection: PostgreSQL NOTIFY in, callbacks out, reconnecting for ever.

It is a plain asyncpg connection of its own, not one borrowed from the SQLAlchemy pool: a
pooled connection is reset and handed to other requests, which would end the LISTEN. Its
backend pid doubles as the worker's identity for presence (see app/models/presence.py): the
backend lives exactly as long as this connection, so when the worker dies, so does the pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
# A database that went away without closing the socket is only noticed by talking to it.
PROBE_EVERY = 5.0
PROBE_TIMEOUT = 5.0
# First retry at once-ish (a terminated backend usually means the server is up), then back off.
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0


@dataclass(frozen=True)
class ListenerSession:
    """The PostgreSQL backend serving this worker's LISTEN connection."""

    backend_pid: int
    backend_start: datetime


OnEvent = Callable[[str], None]
# Called after every (re)connect, with the new session and whether notifications may have been
# missed (True after a reconnect, False the first time).
OnConnect = Callable[[ListenerSession, bool], Awaitable[None]]


class EventBus:
    def __init__(
        self,
        dsn: str,
        channel: str,
        *,
        on_event: OnEvent,
        on_connect: OnConnect,
        application_name: str,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._channel = channel
        self._on_event = on_event
        self._on_connect = on_connect
        self._application_name = application_name[:63]
        self._session: ListenerSession | None = None
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def session(self) -> ListenerSession | None:
        """The current listener session; None while (re)connecting."""
        return self._session

    async def start(self) -> None:
        """Start listening; wait up to the connect timeout for the first connection, never failing the start."""
        self._task = asyncio.create_task(self._run(), name="camvault-event-bus")
        try:
            await asyncio.wait_for(self._listening.wait(), self._connect_timeout)
        except TimeoutError:
            logger.warning("event listener not connected after %.1fs; still trying", self._connect_timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._on_event(payload)
        except Exception:  # one bad event must not end the listener
            logger.exception("event handler failed")

    async def _run(self) -> None:
        delay = BACKOFF_FIRST
        reconnect = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn,
                    timeout=self._connect_timeout,
                    server_settings={"application_name": self._application_name},
                )
                lost = asyncio.Event()
                # Bound now: an old connection's listener may fire after `lost` names the next one.
                conn.add_termination_listener(lambda _c, event=lost: event.set())
                await conn.add_listener(self._channel, self._notified)
                row = await conn.fetchrow(
                    "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
                )
                assert row is not None
                self._session = ListenerSession(int(row["pid"]), row["backend_start"])
                logger.info("listening channel=%s backend_pid=%s", self._channel, self._session.backend_pid)
                await self._run_connect_hook(self._session, reconnect)
                reconnect = True
                delay = BACKOFF_FIRST
                self._listening.set()
                await self._watch(conn, lost)
            except asyncio.CancelledError:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
                    conn.terminate()
                raise
            except Exception as exc:
                logger.warning("event listener down (%s); reconnecting in %.1fs", type(exc).__name__, delay)
            finally:
                self._session = None
                self._listening.clear()
            if conn is not None:
                conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _run_connect_hook(self, session: ListenerSession, reconnect: bool) -> None:
        # After the database dropped every connection the pool may still hand out a dead one (no pre-ping since
        # issue 20); its failure invalidates it, so one more try gets a fresh connection.
        for attempt in (1, 2):
            try:
                await self._on_connect(session, reconnect)
                return
            except Exception:
                if attempt == 2:
                    logger.exception("event listener connect hook failed")
                else:
                    logger.warning("event listener connect hook failed once; trying again", exc_info=True)

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return (by raising) when the connection is gone, noticed by the driver or by a probe."""
        while True:
            try:
                await asyncio.wait_for(lost.wait(), PROBE_EVERY)
            except TimeoutError:
                await conn.fetchval("SELECT 1", timeout=PROBE_TIMEOUT)
            else:
                raise ConnectionError("listener connection closed")
