"""WebSocket clients for tests: real sockets to live workers, every wait bounded by a deadline."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from jose import jwt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import PASSWORD
from tests.live_server import SECRET_KEY, LiveServer

Message = dict[str, Any]


class WsClient:
    """One socket, and every message it has read so far (`seen`)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Message] = []

    async def next(self, timeout: float = 5.0) -> Message:
        text = await asyncio.wait_for(self.ws.recv(), timeout)
        message: Message = json.loads(text)
        self.seen.append(message)
        return message

    async def expect(
        self, kind: str, timeout: float = 5.0, where: Callable[[Message], bool] | None = None, **fields: Any
    ) -> Message:
        """Read until a message of type `kind` whose fields equal `fields` arrives; fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                message = await self.next(remaining)
            except TimeoutError:
                seen = [(m["type"], m.get("user") or m.get("path")) for m in self.seen[-15:]]
                raise AssertionError(f"no {kind} {fields} within {timeout}s; last seen: {seen}") from None
            if (
                message["type"] == kind
                and all(message.get(k) == v for k, v in fields.items())
                and (where is None or where(message))
            ):
                return message

    async def send(self, message: Message | str | bytes) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def closed(self, timeout: float = 5.0) -> tuple[int | None, str]:
        """Read until the server closes the socket; the close code and reason the client got."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"socket still open after {timeout}s")
                await self.next(remaining)
        except ConnectionClosed as exc:
            return (exc.rcvd.code if exc.rcvd else None), (exc.rcvd.reason if exc.rcvd else "")
        except TimeoutError:
            raise AssertionError(f"socket still open after {timeout}s") from None


@asynccontextmanager
async def ws_connect(
    server: LiveServer, token: str | None, *, via: str = "protocol", **options: Any
) -> AsyncIterator[WsClient]:
    """Open /ws as a browser does (`["camvault.v1", "bearer.<token>"]`) or with `?token=`."""
    url = f"{server.ws_url}/ws"
    subprotocols = ["camvault.v1"]
    if token is not None and via == "protocol":
        subprotocols.append("bearer." + token)
    elif token is not None and via == "query":
        url += "?token=" + quote(token, safe="")
    # proxy=None: never route a test socket through a proxy from the environment.
    async with connect(url, subprotocols=subprotocols, open_timeout=10, proxy=None, **options) as ws:  # type: ignore[arg-type]
        yield WsClient(ws)


@asynccontextmanager
async def joined(server: LiveServer, token: str, **options: Any) -> AsyncIterator[WsClient]:
    """An open socket past its `hello`."""
    async with ws_connect(server, token, **options) as client:
        await client.expect("hello")
        yield client


async def token_for(server: LiveServer, username: str, password: str = PASSWORD) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post("/api/auth/token", json={"login": username, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def online_names(message: Message) -> set[str]:
    return {u["username"] for u in message["online_users"]}


def mint_token(user_id: int, *, secret: str = SECRET_KEY, expires_in: float = 600, version: int = 0) -> str:
    """A token made by hand: expired (negative `expires_in`), short-lived or forged (another secret)."""
    claims = {"sub": str(user_id), "exp": int(time.time() + expires_in), "jti": uuid.uuid4().hex, "ver": version}
    return str(jwt.encode(claims, secret, algorithm="HS256"))
