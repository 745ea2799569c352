from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadRequest
from app.core.request_context import client_ip_var, request_id_var
from app.models import AuditEvent, User
from app.repositories.audit import AuditRepository
from app.schemas.audit import AuditEventOut, AuditPage


async def record(
    session: AsyncSession,
    action: str,
    *,
    actor: User | None,
    target: str | None,
    details: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEvent:
    """Add an audit row to the caller's transaction; it commits or rolls back with the change."""
    return await AuditRepository(session).record(
        action,
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else actor_name,
        target=target,
        details=details,
        client_ip=client_ip_var.get(),
        request_id=request_id_var.get(),
    )


def _encode_cursor(event: AuditEvent) -> str:
    raw = f"{event.at.isoformat()}|{event.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, id_ = raw.split("|")
        return datetime.fromisoformat(at), int(id_)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("Invalid cursor") from None


class AuditService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        rows = await AuditRepository(self.session).search(
            actor=actor,
            action=action,
            target=target,
            since=since,
            until=until,
            before=_decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        page = list(rows[:limit])
        next_cursor = _encode_cursor(page[-1]) if len(rows) > limit else None
        return AuditPage(items=[AuditEventOut.model_validate(e) for e in page], next_cursor=next_cursor)
