"""What a file listing shows (its filters, one definition for the paged listing and the export), and the export:
every file the filters match, streamed as NDJSON or CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import json_dumps
from app.models import User
from app.repositories.files import FileFilter, FileRepository, SortKey, Status
from app.services import roles
from app.services.csv_text import csv_line
from app.services.paths import folder_sort_range, normalise_folder, path_key

ExportFormat = Literal["ndjson", "csv"]
# Rows read per statement while an export streams: few round trips, and little memory per page.
EXPORT_PAGE = 5000
CSV_COLUMNS = (
    "id",
    "path",
    "version",
    "size",
    "updated_at",
    "updated_by",
    "created_at",
    "created_by",
    "checked_out_by",
    "checked_out_since",
    "lock_until",
    "lock_message",
    "blob_sha",
    "head_commit",
    "deleted_at",
    "deleted_by",
)


@dataclass(frozen=True)
class ListingQuery:
    """A listing's filters and order, as the API takes them."""

    q: str | None = None
    status: Status | None = None
    holder: str | None = None
    folder: str | None = None
    recursive: bool = False
    deleted: bool = False
    sort: SortKey = "name"
    descending: bool = False


def listing_filter(viewer: User, query: ListingQuery) -> FileFilter:
    """The files a listing (or an export) shows; 403 when a non-admin asks for deleted files."""
    if query.deleted:
        roles.require(viewer, roles.ADMINS, "Only admins can list deleted files")
    folder_key = path_key(normalise_folder(query.folder)) if query.folder is not None else None
    return FileFilter(
        q=query.q,
        status=query.status,
        holder=query.holder,
        deleted=query.deleted,
        folder=folder_key,
        recursive=query.recursive or query.folder is None,
        sort_range=folder_sort_range(folder_key) if folder_key and query.sort == "name" else None,
    )


class FileExport:
    """Every file a listing's filters match, in the listing's order, as one streamed text body.

    Runs while the response streams, after the request's session is gone: each page of EXPORT_PAGE rows is
    read on a short session of its own (keyset order, as the listing pages), so no connection is held while
    the client reads. Rows are read as plain columns, not ORM objects: at 50,000 files that is most of the time.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    def stream(self, viewer: User, query: ListingQuery, fmt: ExportFormat) -> AsyncIterator[str]:
        """The body, a page at a time; refused (403) now, before any of it is sent, if `viewer` may not see it."""
        return self._lines(listing_filter(viewer, query), query, fmt)

    async def _lines(self, filters: FileFilter, query: ListingQuery, fmt: ExportFormat) -> AsyncIterator[str]:
        if fmt == "csv":
            yield "\ufeff" + csv_line(CSV_COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
        after: tuple[Any, int] | None = None
        while True:
            async with self.sessionmaker() as session:
                rows = await FileRepository(session).export_page(
                    filters, sort=query.sort, descending=query.descending, after=after, limit=EXPORT_PAGE
                )
            if not rows:
                return
            if fmt == "csv":
                yield "".join(csv_line(_cells(r)) for r in rows)
            else:
                yield "".join(json_dumps(_record(r)) + "\n" for r in rows)
            if len(rows) < EXPORT_PAGE:
                return
            last = rows[-1]
            after = ({"name": last.sort_key, "size": last.size, "updated": last.updated_at}[query.sort], last.id)


def _record(r: Any) -> dict[str, Any]:
    lock = None
    if r.holder is not None:
        lock = {"holder": r.holder, "since": r.lock_since, "until": r.lock_until, "message": r.lock_message}
    return {
        "id": r.id,
        "path": r.path,
        "version": r.version,
        "size": r.size,
        "updated_at": r.updated_at,
        "updated_by": r.updated_by,
        "created_at": r.created_at,
        "created_by": r.created_by,
        "lock": lock,
        "blob_sha": r.blob_sha,
        "head_commit": r.head_commit,
        "deleted_at": r.deleted_at,
        "deleted_by": r.deleted_by,
    }


def _cells(r: Any) -> tuple[Any, ...]:
    def when(value: Any) -> str:
        return value.isoformat() if value is not None else ""

    return (
        r.id,
        r.path,
        r.version,
        r.size,
        when(r.updated_at),
        r.updated_by or "",
        when(r.created_at),
        r.created_by or "",
        r.holder or "",
        when(r.lock_since) if r.holder else "",
        when(r.lock_until) if r.holder else "",
        r.lock_message or "" if r.holder else "",
        r.blob_sha,
        r.head_commit,
        when(r.deleted_at),
        r.deleted_by or "",
    )
