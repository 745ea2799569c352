"""Request id and access log, as plain ASGI middleware (it does not buffer streamed bodies)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import internal_error_body
from app.core.request_context import client_ip_var, request_id_var

logger = logging.getLogger("camvault.access")
error_logger = logging.getLogger("app.api.errors")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        client = scope.get("client")
        request_id_token = request_id_var.set(request_id)
        client_token = client_ip_var.set(client[0] if client else None)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close" and status == 0:
                status = 403  # closed before accepting: the server answers the handshake with 403
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost handler, which runs after this block
            # has reset the request id: the 500 body and header then name the id the log line carries.
            if scope["type"] != "http" or status:
                raise
            error_logger.exception("unhandled error")
            body = json.dumps(internal_error_body(request_id)).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send_with_id({"type": "http.response.start", "status": 500, "headers": headers})
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            # The path only: query strings may carry a WebSocket token and never reach the log.
            state = scope.get("state") or {}
            logger.info(
                "%s %s status=%s ms=%.1f user=%s",
                scope.get("method", "WS"),
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                state.get("user", "-"),
            )
            request_id_var.reset(request_id_token)
            client_ip_var.reset(client_token)
