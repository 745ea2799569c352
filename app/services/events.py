"""Events for every worker's WebSockets, sent with PostgreSQL NOTIFY inside the change's transaction.

PostgreSQL delivers a notification only when its transaction commits, and drops it on
rollback, so an event can never announce a change that did not happen.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "camvault_events"
# NOTIFY payloads must stay under 8000 bytes; a vault path is at most 1024.
MAX_PAYLOAD = 7900

# Not for browsers: tells every worker to close the sockets of a token (jti) or of every token of
# a user (jti None) that stopped being valid: logout, password change or reset, deactivation.
AUTH_REVOKED = "auth_revoked"


def _encode(value: object) -> str:
    # ISO 8601 with a "T", like `at`: str(datetime) has a space, which some browsers' Date cannot parse.
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def publish(session: AsyncSession, event_type: str, **fields: Any) -> None:
    payload = {"type": event_type, "at": datetime.now(UTC).isoformat(), **fields}
    text = json.dumps(payload, default=_encode, separators=(",", ":"))
    if len(text.encode()) > MAX_PAYLOAD:
        payload = {k: v for k, v in payload.items() if k in ("type", "at", "file_id", "path", "user")}
        payload["truncated"] = True
        text = json.dumps(payload, default=_encode, separators=(",", ":"))
    await session.execute(select(func.pg_notify(CHANNEL, text)))


async def publish_auth_revoked(session: AsyncSession, user_id: int, *, jti: str | None = None, reason: str) -> None:
    await publish(session, AUTH_REVOKED, user_id=user_id, jti=jti, reason=reason)
