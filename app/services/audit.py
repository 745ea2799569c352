"""Reading the audit log: one page at a time, or the whole filtered view as CSV (streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import json_dumps
from app.models import AuditEvent
from app.repositories.audit import AuditFilter, AuditRepository
from app.schemas.audit import AuditEventOut, AuditPage
from app.services.csv_text import csv_line
from app.services.cursors import decode_cursor, encode_cursor

EXPORT_PAGE = 1000
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "target",
    "file_id",
    "subject_user_id",
    "details",
    "client_ip",
    "request_id",
)


class AuditService:
    def __init__(self, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession] | None = None) -> None:
        self.session = session
        self.sessionmaker = sessionmaker

    async def search(self, filters: AuditFilter, *, cursor: str | None = None, limit: int = 50) -> AuditPage:
        before: tuple[datetime, int] | None = None
        if cursor:
            at, last_id = decode_cursor(cursor, datetime, int)
            before = (at, last_id)
        rows = await AuditRepository(self.session).search(filters, before=before, limit=limit + 1)
        page = list(rows[:limit])
        next_cursor = encode_cursor(page[-1].at, page[-1].id) if len(rows) > limit else None
        return AuditPage(items=[AuditEventOut.model_validate(e) for e in page], next_cursor=next_cursor)

    async def export_csv(self, filters: AuditFilter) -> AsyncIterator[str]:
        """Every row the filters match, newest first, as CSV text, a page at a time.

        Runs while the response streams, after the request's session is gone: each page reads on a short
        session of its own, so no connection is held while the client reads. Rows written meanwhile are newer
        than the first page and never appear half-way.
        """
        assert self.sessionmaker is not None, "export needs a sessionmaker"
        yield "\ufeff" + csv_line(CSV_COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
        before: tuple[datetime, int] | None = None
        while True:
            async with self.sessionmaker() as session:
                rows = await AuditRepository(session).search(filters, before=before, limit=EXPORT_PAGE)
            if not rows:
                return
            yield "".join(csv_line(_cells(row)) for row in rows)
            if len(rows) < EXPORT_PAGE:
                return
            before = (rows[-1].at, rows[-1].id)


def _cells(row: AuditEvent) -> Sequence[Any]:
    return (
        row.id,
        row.at.isoformat(),
        row.actor_name or "",
        row.action,
        row.target or "",
        row.file_id if row.file_id is not None else "",
        row.subject_user_id if row.subject_user_id is not None else "",
        json_dumps(row.details) if row.details else "",
        row.client_ip or "",
        row.request_id or "",
    )
