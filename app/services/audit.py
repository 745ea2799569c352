from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.audit import AuditRepository
from app.schemas.audit import AuditEventOut, AuditPage
from app.services.cursors import decode_cursor, encode_cursor


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
