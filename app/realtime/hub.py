"""The worker's open sockets: a bounded send queue and one sender task each.

Fan-out never waits for a socket: it only puts a message in each socket's queue. A socket whose
client stops reading fills its own queue and is closed; the others never notice. Every message
a socket gets (events, pong, error) goes through its queue, so only its sender task writes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.websockets import WebSocket, WebSocketDisconnect

logger = logging.getLogger(__name__)

# Close codes (docs/realtime.md). 1008 tells a client to log in again; everything else means
# "reconnect (with backoff) and reload what you show".
CLOSE_POLICY = 1008  # missing, invalid, expired or revoked token; inactive user
CLOSE_INTERNAL = 1011
CLOSE_TRY_LATER = 1013  # this worker is not listening to the database right now
CLOSE_TOO_SLOW = 4001  # the client fell too far behind: its send queue overflowed

# How long a closing socket may take to accept the close frame. A client that stopped reading
# may never take it; the frame is then dropped with the connection, and the client sees 1006.
CLOSE_TIMEOUT = 10.0

# Called with each text frame from the client (None for a binary frame).
OnMessage = Callable[["Connection", str | None], Awaitable[None]]


@dataclass(frozen=True)
class CloseRequest:
    code: int
    reason: str


class Connection:
    """One open socket of one user, authenticated with one token."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        user_id: int,
        username: str,
        jti: str,
        token: str,
        expires_at: datetime,
        queue_size: int,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.user_id = user_id
        self.username = username
        self.jti = jti
        # Kept to check it again after the event stream was interrupted (a logout may have been missed).
        self.token = token
        self.expires_at = expires_at
        self.viewing: int | None = None
        self.joined = False  # its presence row is committed
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._close: CloseRequest | None = None
        self._closing = asyncio.Event()

    def offer(self, text: str) -> None:
        """Queue a message without waiting; a full queue closes the socket instead."""
        if self._close is not None:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            logger.info("socket too slow, closing user=%s connection=%s", self.username, self.id)
            self.close(CLOSE_TOO_SLOW, "too slow: reconnect and reload")

    def close(self, code: int, reason: str) -> None:
        """Ask the socket to close; run() does it in the socket's own task."""
        if self._close is None:
            self._close = CloseRequest(code, reason)
            self._closing.set()

    async def run(self, greeting: str, on_message: OnMessage) -> None:
        """Send the greeting, then serve the socket until the client leaves or close() is called."""
        try:
            await self.websocket.send_text(greeting)
        except (WebSocketDisconnect, RuntimeError):
            return  # the client left during the handshake
        tasks = {
            asyncio.create_task(self._send_queued(), name=f"ws-send-{self.id}"),
            asyncio.create_task(self._receive(on_message), name=f"ws-recv-{self.id}"),
            asyncio.create_task(self._closing.wait(), name=f"ws-close-{self.id}"),
            asyncio.create_task(self._expire(), name=f"ws-expiry-{self.id}"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = None if task.cancelled() else task.exception()
                # A client that went away mid-send is the normal end of a socket, not a failure.
                if error is not None and not isinstance(error, WebSocketDisconnect | OSError):
                    logger.warning("socket task failed user=%s connection=%s: %r", self.username, self.id, error)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def finish(self) -> None:
        """Send the close frame asked for by close(), if any (after run() returned)."""
        if self._close is None:
            return
        # The client may be gone already, or not reading: never let closing block for ever.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(self._close.code, self._close.reason), CLOSE_TIMEOUT)

    async def _send_queued(self) -> None:
        while True:
            text = await self._queue.get()
            await self.websocket.send_text(text)

    async def _receive(self, on_message: OnMessage) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await on_message(self, message.get("text"))

    async def _expire(self) -> None:
        await asyncio.sleep(max(0.0, (self.expires_at - datetime.now(UTC)).total_seconds()))
        self.close(CLOSE_POLICY, "token expired")


class Hub:
    """This worker's sockets, for fan-out."""

    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}

    def __len__(self) -> int:
        return len(self._connections)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._connections.values()))

    def add(self, connection: Connection) -> None:
        self._connections[connection.id] = connection

    def remove(self, connection: Connection) -> None:
        self._connections.pop(connection.id, None)

    def __contains__(self, connection: Connection) -> bool:
        return connection.id in self._connections

    def broadcast(self, text: str) -> None:
        """Offer one encoded message to every socket; never waits."""
        for connection in list(self._connections.values()):
            connection.offer(text)

    def close_user(self, user_id: int, *, jti: str | None, code: int, reason: str) -> int:
        """Close a user's sockets: those of one token, or all of them when jti is None."""
        closed = 0
        for connection in list(self._connections.values()):
            if connection.user_id == user_id and (jti is None or connection.jti == jti):
                connection.close(code, reason)
                closed += 1
        return closed

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self._connections.values()):
            connection.close(code, reason)
