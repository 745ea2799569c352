"""The WebSocket gateway of one worker process: sockets in, presence kept, database events passed on.

It sits above the services (like app/api): it accepts and refuses sockets, and calls the auth and
presence services; services know nothing of WebSockets.

One `RealtimeService` lives as long as the worker (created in the app's lifespan). It owns the
worker's `EventBus` (its LISTEN connection) and `Hub` (its open sockets), and three loops:
the bus's own reconnecting listener, a dispatcher that turns notifications into messages in
every socket's queue, and the presence upkeep (heartbeat, sweeping dead workers' rows).
The protocol is described in docs/realtime.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket

from app import journal
from app.core.config import Settings
from app.core.db import asyncpg_dsn, json_dumps
from app.core.errors import NotFound, Unauthorized
from app.core.security import TokenClaims
from app.journal.accounts import SESSIONS_ENDED
from app.models import User
from app.realtime.bus import EventBus, ListenerSession
from app.realtime.handshake import SUBPROTOCOL, SocketCredentials, refuse
from app.realtime.hub import (
    CLOSE_INTERNAL,
    CLOSE_POLICY,
    CLOSE_TRY_LATER,
    Connection,
    Hub,
)
from app.realtime.messages import (
    FORWARDED_EVENTS,
    MAX_CLIENT_MESSAGE,
    WITH_ONLINE_USERS,
    encode,
    now,
)
from app.repositories.presence import Claim
from app.schemas.realtime import ClientMessage, OnlineUser, PingIn, ViewingIn
from app.services.auth import AuthService
from app.services.presence import PresenceService

logger = logging.getLogger(__name__)

T = TypeVar("T")

_client_message: TypeAdapter[PingIn | ViewingIn] = TypeAdapter(ClientMessage)


class ProtocolError(Exception):
    """A client message the server cannot act on; answered with an `error` message."""

    def __init__(self, code: str, message: str, client_id: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id

    def encode(self) -> str:
        return encode("error", code=self.code, message=self.message, id=self.client_id)


def _usable_id(value: object) -> str | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) <= 2**53:
        return value
    if isinstance(value, str) and len(value) <= 100:
        return value
    return None


def parse_client_message(text: str | None) -> PingIn | ViewingIn:
    if text is None:
        raise ProtocolError("bad_frame", "Send JSON in text frames; binary frames are not understood")
    if len(text) > MAX_CLIENT_MESSAGE:
        raise ProtocolError("too_large", f"Messages are at most {MAX_CLIENT_MESSAGE} characters")
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolError("bad_json", "Not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "A message is a JSON object with a string `type`")
    client_id = _usable_id(data.get("id"))
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "A message is a JSON object with a string `type`", client_id)
    if kind not in ("ping", "viewing"):
        raise ProtocolError("unknown_type", f"Unknown message type {kind[:40]!r}", client_id)
    try:
        return _client_message.validate_python(data)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][1]) if len(error["loc"]) > 1 else "message"
            problems.setdefault(field, error["msg"])
        detail = "; ".join(f"{field}: {msg}" for field, msg in problems.items())
        raise ProtocolError("bad_field", detail, client_id) from None


class RealtimeService:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], database_url: str) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.worker_id = uuid.uuid4().hex
        self.hub = Hub()
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self.bus = EventBus(
            asyncpg_dsn(database_url),
            journal.CHANNEL,
            on_event=self._inbox.put_nowait,
            on_connect=self._listening,
            # Lets ops (and tests) tell the workers' listener sessions apart in pg_stat_activity.
            application_name=f"camvault-events:{os.getpid()}",
            connect_timeout=settings.database_connect_timeout_seconds,
        )
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.bus.start()
        self._tasks = [
            asyncio.create_task(self._dispatch_forever(), name="camvault-dispatch"),
            asyncio.create_task(self._upkeep_forever(), name="camvault-presence"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self.hub.close_all(1001, "server shutting down")
        await self.bus.stop()
        # Sockets normally leave one by one as the server closes them; this catches any that
        # could not (so nobody stays "online" on a worker that is gone).
        try:
            async with asyncio.timeout(5):
                await self._with_presence(lambda p: p.drop_worker(self.worker_id))
        except Exception as exc:
            logger.warning("could not clear this worker's presence on shutdown (%s)", type(exc).__name__)

    # --- one socket ------------------------------------------------------------------------

    async def authenticate(self, token: str | None) -> tuple[User, TokenClaims]:
        """The same checks as every HTTP request: signature, expiry, logout, active user."""
        async with self.sessionmaker() as session:
            return await AuthService(session, self.settings).authenticate(token)

    async def serve(
        self, websocket: WebSocket, user: User, claims: TokenClaims, credentials: SocketCredentials
    ) -> None:
        """Serve an authenticated socket until it closes."""
        listener = self.bus.session
        if listener is None:
            await refuse(websocket, credentials.subprotocol, CLOSE_TRY_LATER, "not ready, try again")
            return
        assert credentials.token is not None
        await websocket.accept(subprotocol=credentials.subprotocol)
        connection = Connection(
            websocket,
            user_id=user.id,
            username=user.username,
            jti=claims.jti,
            token=credentials.token,
            expires_at=claims.expires_at,
            queue_size=self.settings.ws_send_queue_size,
        )
        # In the hub before joining: no event committed after the hello's snapshot is missed
        # (some may be repeated, which applying them again handles).
        self.hub.add(connection)
        try:
            try:
                online = await self._with_presence(
                    lambda p: p.join(
                        connection.id,
                        user,
                        worker_id=self.worker_id,
                        backend_pid=listener.backend_pid,
                        backend_start=listener.backend_start,
                    )
                )
            except Exception:
                logger.exception("could not register presence user=%s", user.username)
                connection.close(CLOSE_INTERNAL, "presence unavailable, try again")
                return
            connection.joined = True
            if self.bus.session != listener:
                # The listener reconnected while we joined: our row names the old session.
                await self._reclaim()
            logger.info("socket open user=%s connection=%s", user.username, connection.id)
            await connection.run(self._hello(connection, user, claims, online), self._on_message)
        finally:
            self.hub.remove(connection)
            if connection.joined:
                await self._leave(connection)
            await connection.finish()
            logger.info("socket closed user=%s connection=%s", user.username, connection.id)

    def _hello(self, connection: Connection, user: User, claims: TokenClaims, online: list[OnlineUser]) -> str:
        at = now()
        return json_dumps(
            {
                "type": "hello",
                "at": at,
                "server_time": at,
                "protocol": SUBPROTOCOL,
                "connection_id": connection.id,
                "you": {
                    "user_id": user.id,
                    "username": user.username,
                    "full_name": user.full_name,
                    "role": user.role.value,
                },
                "token_expires_at": claims.expires_at.isoformat(),
                "online_users": [u.model_dump(mode="json") for u in online],
                "limits": {"send_queue": self.settings.ws_send_queue_size, "message_size": MAX_CLIENT_MESSAGE},
            }
        )

    async def _on_message(self, connection: Connection, text: str | None) -> None:
        try:
            message = parse_client_message(text)
        except ProtocolError as exc:
            connection.offer(exc.encode())
            return
        if isinstance(message, PingIn):
            connection.offer(encode("pong", id=message.id))
            return
        await self._set_viewing(connection, message)

    async def _set_viewing(self, connection: Connection, message: ViewingIn) -> None:
        if message.file_id == connection.viewing:
            return
        try:
            async with self.sessionmaker() as session:
                user = await session.get(User, connection.user_id)
                if user is None:
                    raise NotFound("User not found")
                await PresenceService(session).view(connection.id, user, message.file_id)
        except NotFound as exc:
            connection.offer(ProtocolError("not_found", str(exc.detail), message.id).encode())
        except Exception:
            logger.exception("viewing update failed user=%s", connection.username)
            connection.offer(ProtocolError("server_error", "Could not record that; try again", message.id).encode())
        else:
            connection.viewing = message.file_id

    async def _leave(self, connection: Connection) -> None:
        try:
            await self._with_presence(lambda p: p.leave(connection.id))
        except Exception as exc:
            # The row stays until a sweep finds this worker's session gone or its heartbeat old.
            logger.warning("could not remove presence user=%s (%s)", connection.username, type(exc).__name__)

    async def _with_presence(self, action: Callable[[PresenceService], Awaitable[T]]) -> T:
        async with self.sessionmaker() as session:
            return await action(PresenceService(session))

    # --- events from the database ----------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            payload = await self._inbox.get()
            try:
                await self._dispatch(payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not pass on an event")
            # Let the sender tasks run between events: a burst (one upload of 500 files is 500
            # events) then drains to healthy sockets as it comes instead of piling up in their
            # queues, which only a socket that is really not reading should ever fill.
            await asyncio.sleep(0)

    async def _dispatch(self, payload: str) -> None:
        event: Any = json.loads(payload)
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == SESSIONS_ENDED:  # close the sockets of a token (jti) or of every token of a user
            reason = str(event.get("reason") or "token revoked")
            self.hub.close_user(int(event["user_id"]), jti=event.get("jti"), code=CLOSE_POLICY, reason=reason)
            return
        if kind not in FORWARDED_EVENTS and kind != "resync":
            return
        if not len(self.hub):
            return
        if kind in WITH_ONLINE_USERS or kind == "resync":
            online = await self._with_presence(lambda p: p.online_users())
            event["online_users"] = [u.model_dump(mode="json") for u in online]
            payload = json_dumps(event)
        self.hub.broadcast(payload)

    async def _listening(self, listener: ListenerSession, reconnect: bool) -> None:
        """After a reconnect: re-register our sockets, re-check their tokens, tell clients to reload."""
        if not reconnect:
            return
        await self._reclaim()
        for connection in list(self.hub):
            try:
                await self.authenticate(connection.token)
            except Unauthorized as exc:
                # A logout or deactivation may have happened while we were not listening.
                connection.close(CLOSE_POLICY, str(exc.detail))
        # Through the dispatcher, so it reaches sockets in order with the events after it.
        self._inbox.put_nowait(encode("resync", reason="event stream interrupted; reload what you show"))

    # --- presence upkeep -------------------------------------------------------------------

    async def _upkeep_forever(self) -> None:
        while True:
            try:
                await self._upkeep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("presence upkeep failed (%s: %s)", type(exc).__name__, exc)
            await asyncio.sleep(self.settings.ws_presence_sweep_seconds)

    async def _upkeep(self) -> None:
        listener = self.bus.session
        if listener is None:
            return  # our rows name no live session now; the reconnect will reclaim them
        joined = sum(1 for c in self.hub if c.joined)
        touched = await self._with_presence(lambda p: p.heartbeat(self.worker_id, listener.backend_pid))
        if touched < joined:
            # Some of our rows were swept (we were frozen, or the listener reconnected): put them back.
            await self._reclaim()
        swept = await self._with_presence(lambda p: p.sweep(self.settings.ws_presence_stale_seconds))
        if swept:
            logger.info("presence sweep removed %d sockets of dead workers", swept)

    async def _reclaim(self) -> None:
        listener = self.bus.session
        if listener is None:
            return
        connections = [c for c in self.hub if c.joined]
        claims = [Claim(c.id, c.user_id, c.viewing) for c in connections]
        await self._with_presence(
            lambda p: p.reclaim(
                claims,
                worker_id=self.worker_id,
                backend_pid=listener.backend_pid,
                backend_start=listener.backend_start,
            )
        )
        for connection in connections:
            if connection not in self.hub:
                # It closed while we re-registered it; remove the row we may have put back.
                await self._leave(connection)
