"""A streamed response that reads its own request body while it streams (Git's smart HTTP needs both).

Starlette's StreamingResponse listens for the client's disconnect by calling `receive()` beside the
stream, which would steal the request body's chunks from a producer still reading them. Here the body
is handed to the producer as it arrives, and only once it has all been read does a watcher wait for the
disconnect, and then cancels the stream (and with it the producer's subprocess).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Producer = Callable[[AsyncIterator[bytes]], AsyncGenerator[bytes, None]]


class DuplexStreamingResponse(Response):
    def __init__(self, produce: Producer, *, media_type: str, headers: dict[str, str] | None = None) -> None:
        self.produce = produce
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)  # no body attribute: no Content-Length, the answer is chunked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body_read = anyio.Event()

        async def request_body() -> AsyncIterator[bytes]:
            try:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ConnectionResetError("the client went away")
                    if chunk := message.get("body", b""):
                        yield chunk
                    if not message.get("more_body", False):
                        return
            finally:
                body_read.set()

        async with anyio.create_task_group() as tasks:

            async def cancel_on_disconnect() -> None:
                await body_read.wait()
                message: dict[str, Any] = {}
                while message.get("type") != "http.disconnect":
                    message = dict(await receive())
                tasks.cancel_scope.cancel()

            tasks.start_soon(cancel_on_disconnect)
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async with aclosing(self.produce(request_body())) as chunks:
                async for chunk in chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tasks.cancel_scope.cancel()
