"""What a file listing shows (its filters and view, one definition for the paged listing and the export), and
the export: every file the filters match, streamed as NDJSON or CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.errors import BadRequest
from app.models import FileState, User
from app.repositories.files import FileFilter, FileRepository, SortKey, Status
from app.schemas.file import FileOut
from app.services import roles
from app.services.answers import file_out
from app.services.csv_text import csv_line
from app.services.paths import folder_sort_range, normalise_folder, path_key
from app.services.visibility import view_of

ExportFormat = Literal["ndjson", "csv"]
# Rows read per statement while an export streams: few round trips, and little memory per page.
EXPORT_PAGE = 2000
CSV_COLUMNS = (
    "id",
    "path",
    "version",
    "size",
    "state",
    "revision",
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
    state: FileState | None = None
    released_only: bool = False
    sort: SortKey | str = "name"  # or a data card field, `card.part_number` (the listing only)
    descending: bool = False


@dataclass(frozen=True)
class Listing:
    """The files a listing (or an export) shows, and whether as the shop floor sees them."""

    filters: FileFilter
    floor: bool


def listing_of(viewer: User, query: ListingQuery, settings: Settings) -> Listing:
    """What `viewer` sees of the listing `query` asks for; 403 when a non-admin asks for deleted files.

    `released_only` (a viewer's always, unless VIEWERS_SEE_WORK=true) is the shop floor's view: each file's
    current revision, never a work-in-progress head.
    """
    if query.deleted:
        roles.require(viewer, roles.ADMINS, "Only admins can list deleted files")
    floor = view_of(viewer, settings, released_only=query.released_only).floor
    folder_key = path_key(normalise_folder(query.folder)) if query.folder is not None else None
    filters = FileFilter(
        q=query.q,
        status=query.status,
        holder=query.holder,
        deleted=query.deleted,
        folder=folder_key,
        recursive=query.recursive or query.folder is None,
        state=query.state,
        released_only=floor,
        sort_range=folder_sort_range(folder_key) if folder_key and query.sort == "name" else None,
    )
    return Listing(filters, floor)


def next_after(shown: FileOut, sort: SortKey) -> tuple[Any, int]:
    """The keyset position after a row, from the values its reader was shown (the floor's own size and time)."""
    return {"name": shown.sort_key, "size": shown.size, "updated": shown.updated_at}[sort], shown.id


class FileExport:
    """Every file a listing's filters match, in the listing's order, as one streamed text body.

    Runs while the response streams, after the request's session is gone: each page of EXPORT_PAGE rows is
    read on a short session of its own (keyset order, as the listing pages), so no connection is held while
    the client reads. Each row is the listing's own item (the same view of it), so the two never disagree.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    def stream(self, viewer: User, query: ListingQuery, fmt: ExportFormat) -> AsyncIterator[str]:
        """The body, a page at a time; refused (403) now, before any of it is sent, if `viewer` may not see it."""
        if query.sort not in ("name", "size", "updated"):
            raise BadRequest("The export is ordered by name, size or updated (card fields sort the listing only)")
        return self._lines(listing_of(viewer, query, self.settings), query, fmt)

    async def _lines(self, listing: Listing, query: ListingQuery, fmt: ExportFormat) -> AsyncIterator[str]:
        if fmt == "csv":
            yield "\ufeff" + csv_line(CSV_COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
        after: tuple[Any, int] | None = None
        while True:
            async with self.sessionmaker() as session:
                rows = await FileRepository(session).search(
                    listing.filters,
                    sort=cast(SortKey, query.sort),
                    descending=query.descending,
                    after=after,
                    limit=EXPORT_PAGE,
                )
            if not rows:
                return
            shown = [file_out(r, floor=listing.floor) for r in rows]
            if fmt == "csv":
                yield "".join(csv_line(_cells(f)) for f in shown)
            else:
                yield "".join(f.model_dump_json() + "\n" for f in shown)
            if len(rows) < EXPORT_PAGE:
                return
            after = next_after(shown[-1], cast(SortKey, query.sort))


def _cells(f: FileOut) -> tuple[Any, ...]:
    def when(value: Any) -> str:
        return value.isoformat() if value is not None else ""

    lock = f.lock
    return (
        f.id,
        f.path,
        f.version,
        f.size,
        f.state,
        f.revision.label if f.revision else "",
        when(f.updated_at),
        f.updated_by or "",
        when(f.created_at),
        f.created_by or "",
        lock.holder if lock else "",
        when(lock.since) if lock else "",
        when(lock.until) if lock else "",
        lock.message if lock else "",
        f.blob_sha,
        f.head_commit,
        when(f.deleted_at),
        f.deleted_by or "",
    )
