"""A cap on the request bodies the app reads into memory (JSON, forms, a CSV import), checked as the bytes arrive.

FastAPI reads a JSON or form body whole before the route runs, and before any dependency has looked at the
caller: one anonymous 100 MB body to `/api/auth/token` cost a worker 382 MB. Here every route's body is
counted as it is received and refused with 413 at the first byte over its limit (at once when its
Content-Length already says so, before anything is read): MAX_JSON_BODY_BYTES, or for the few routes whose
body is a document rather than a request, their own (a CSV import of a shop's part list: MAX_CSV_IMPORT_BYTES).
The routes that stream their body to disk or to Git themselves are exempt: uploads and check-ins enforce
MAX_UPLOAD_BYTES per file as they stream, and `git-upload-pack` feeds `git` as the bytes arrive (after HTTP
Basic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.routes.cards import import_cards
from app.api.routes.files import upload
from app.api.routes.git import upload_pack
from app.api.routes.locks import check_in

# Endpoints that read their own body as a stream and bound it themselves (see above). Named by the function,
# not the path: the router sets scope["endpoint"] before the body is read, whatever prefix it was mounted at.
STREAMED_BODY_ENDPOINTS: frozenset[Callable[..., Any]] = frozenset({upload, check_in, upload_pack})


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    setting: str  # the setting that raises it, named in the refusal
    advice: str


class BodyTooLarge(HTTPException):
    """An HTTPException, because FastAPI passes those through its body parsing (any other error there
    becomes a 400 "There was an error parsing the body")."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(
            413, f"Request body exceeds the limit of {limit.max_bytes} bytes ({limit.setting}); {limit.advice}"
        )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, csv_import_bytes: int) -> None:
        self.app = app
        self.default = BodyLimit(max_bytes, "MAX_JSON_BODY_BYTES", "files are uploaded as multipart to POST /api/files")
        # Endpoints with a limit of their own, named by function like the exempt ones.
        self.own: dict[Callable[..., Any], BodyLimit] = {
            import_cards: BodyLimit(csv_import_bytes, "MAX_CSV_IMPORT_BYTES", "split the CSV into several imports"),
        }

    def _limit_of(self, endpoint: Callable[..., Any] | None) -> BodyLimit | None:
        if endpoint in STREAMED_BODY_ENDPOINTS:
            return None
        return self.own.get(endpoint, self.default) if endpoint is not None else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0
        answering = False
        chosen = False
        limit: BodyLimit | None = None  # None: the endpoint bounds its own body

        async def limited_receive() -> Message:
            nonlocal received, chosen, limit
            if not chosen:  # decided at the first read, when routing has chosen the endpoint
                chosen = True
                limit = self._limit_of(scope.get("endpoint"))
            # Once the answer has started, a read only waits for the client to leave (Starlette's disconnect
            # listener); what it gets is dropped, not kept, and raising there would break the answer.
            if limit is None or answering:
                return await receive()
            if declared is not None and declared > limit.max_bytes:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal answering
            if message["type"] == "http.response.start":
                answering = True
            await send(message)

        await self.app(scope, limited_receive, watching_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length before we are called
    return None
