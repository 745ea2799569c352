from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.request_context import client_ip_var, request_id_var
from app.models import AuditEvent, User
from app.repositories.audit import AuditRepository
from app.schemas.audit import AuditEventOut, AuditPage
from app.services.cursors import decode_cursor, encode_cursor


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
        before: tuple[datetime, int] | None = None
        if cursor:
            at, last_id = decode_cursor(cursor, datetime, int)
            before = (at, last_id)
        rows = await AuditRepository(self.session).search(
            actor=actor,
            action=action,
            target=target,
            since=since,
            until=until,
            before=before,
            limit=limit + 1,
        )
        page = list(rows[:limit])
        next_cursor = encode_cursor(page[-1].at, page[-1].id) if len(rows) > limit else None
        return AuditPage(items=[AuditEventOut.model_validate(e) for e in page], next_cursor=next_cursor)
