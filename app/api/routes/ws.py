"""/ws: live events and presence (protocol: docs/realtime.md)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from app.api.deps import RealtimeDep, SocketCredentialsDep
from app.core.errors import Unauthorized
from app.realtime.handshake import refuse
from app.realtime.hub import CLOSE_POLICY

router = APIRouter(tags=["realtime"])


@router.websocket("/ws")
async def events(websocket: WebSocket, realtime: RealtimeDep, credentials: SocketCredentialsDep) -> None:
    """The token is checked before the socket is accepted; a bad one gets close code 1008."""
    try:
        user, claims = await realtime.authenticate(credentials.token)
    except Unauthorized as exc:
        await refuse(websocket, credentials.subprotocol, CLOSE_POLICY, str(exc.detail))
        return
    websocket.state.user = user.username  # for the access log line
    await realtime.serve(websocket, user, claims, credentials)
