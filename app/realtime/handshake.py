"""Opening /ws: where the token comes from, and how a socket is turned away with a code a browser sees."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from starlette.websockets import WebSocket

# The subprotocol a browser offers next to its token; the server echoes it on accept, since a
# browser drops a connection whose answer names none of the protocols it offered.
SUBPROTOCOL = "camvault.v1"
TOKEN_SUBPROTOCOL_PREFIX = "bearer."

# Close reasons travel in the close frame, which allows 123 bytes.
_MAX_REASON = 120


@dataclass(frozen=True)
class SocketCredentials:
    """What a client presented when opening /ws: its token and the subprotocol to echo."""

    token: str | None
    subprotocol: str | None


def credentials_of(websocket: WebSocket) -> SocketCredentials:
    """The token from `Sec-WebSocket-Protocol: camvault.v1, bearer.<token>`, else from `?token=`.

    Browsers cannot set an Authorization header on a WebSocket; the subprotocol list is the one
    header a page can fill in, and unlike the query string it is not part of the URL.
    """
    offered: list[str] = websocket.scope.get("subprotocols") or []
    token = next((p[len(TOKEN_SUBPROTOCOL_PREFIX) :] for p in offered if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)), None)
    if not token:
        token = websocket.query_params.get("token")
    return SocketCredentials(token=token or None, subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)


async def refuse(websocket: WebSocket, subprotocol: str | None, code: int, reason: str) -> None:
    """Turn a socket away so that the client really sees `code`.

    Closing before accepting makes the server answer the handshake with HTTP 403, which a
    browser reports as a bare 1006; accepting first (with the subprotocol the browser offered,
    or it drops the connection itself) and closing at once delivers the code and reason. The
    socket is never registered and no message is sent on it.
    """
    with contextlib.suppress(Exception):
        await websocket.accept(subprotocol=subprotocol)
        await websocket.close(code, reason.encode()[:_MAX_REASON].decode(errors="ignore"))
