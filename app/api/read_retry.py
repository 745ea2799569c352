"""GET and HEAD requests that lose their database connection are run once more, on a fresh connection.

After a PostgreSQL restart (or a terminated backend) every pooled connection is dead, and the first statement
on each fails. Pre-ping would test each connection before use, at the cost of a round trip per checkout; here
the failure itself is the test: SQLAlchemy drops the dead connection (and every one pooled before it), the
error handler (app/api/errors.py) answers 503 and marks the request, and this middleware, seeing that mark on a
read whose answer has not started, discards the 503 and runs the request again. Reads change nothing, so
running one twice is safe; a write is never repeated (its client gets the 503 and Retry-After).
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

RETRY_ON_FRESH_CONNECTION = "camvault.retry_on_fresh_connection"
_READS = frozenset({"GET", "HEAD"})


class RetryReadsOnLostConnection:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _READS:
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        held_back = False

        async def recording_receive() -> Message:
            message = await receive()
            received.append(message)
            return message

        async def first_send(message: Message) -> None:
            nonlocal held_back
            if message["type"] == "http.response.start" and scope.pop(RETRY_ON_FRESH_CONNECTION, False):
                held_back = True
            if not held_back:
                await send(message)

        await self.app(scope, recording_receive, first_send)
        if not held_back:
            return
        logger.warning("database connection lost; retrying %s %s once", scope["method"], scope["path"])
        replay = list(received)

        async def replaying_receive() -> Message:
            return replay.pop(0) if replay else await receive()

        scope.pop(RETRY_ON_FRESH_CONNECTION, None)
        await self.app(scope, replaying_receive, send)
