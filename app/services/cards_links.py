"""Where-used links between files, and the part packet (every file of one part number, in one zip).

A link is `source uses target` by file id, so renames and moves keep it, and a deleted target shows as
deleted (a restore brings it back). Adding or removing one is a database-only vault write with its journal
entry. A file a released file uses may not be made obsolete (app/services/release_requirements.py).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, NotFound
from app.journal.cards import LinkAdded, LinkRemoved
from app.models import File, FileLink, FileState, User
from app.repositories.cards import CardFieldRepository, CardValueRepository, LinkRepository
from app.repositories.cards_search import CardCondition
from app.repositories.files import FileFilter, FileRepository, FileRow
from app.schemas.card import LinkedFile, LinkIn, LinkOut, LinksOut, PacketFile, PacketOut
from app.services import roles
from app.services.answers import file_out
from app.services.paths import extension_of, name_sort_key, path_key
from app.services.visibility import View, require_visible, view_of
from app.storage.reads import GitReads
from app.vault.pipeline import Vault

logger = logging.getLogger(__name__)

PACKET_LIMIT = 2000  # files in one packet; a part number is a handful of programs, sheets and models
SETUP_SHEETS = {".pdf", ".html", ".htm", ".xlsx", ".xls", ".docx", ".doc", ".txt"}
MODELS = {".step", ".stp", ".iges", ".igs", ".x_t", ".x_b", ".stl", ".dxf", ".dwg", ".sldprt", ".sldasm", ".3mf"}
_GROUP_ORDER = {"program": 0, "setup_sheet": 1, "model": 2, "other": 3}


class LinkService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.files = FileRepository(session)
        self.links = LinkRepository(session)

    async def links_of(self, file_id: int, user: User) -> LinksOut:
        """Uses and Used by. The floor sees only links to files it may see."""
        view = view_of(user, self.settings)
        row = require_visible(await self.files.row(file_id), view, file_id, include_deleted=roles.is_admin(user))
        return await self._links_out(row.file, view)

    async def add(self, file_id: int, user: User, body: LinkIn) -> LinksOut:
        roles.require(user, roles.WRITERS, "Viewers cannot change where-used links")
        if (body.target_id is None) == (body.target_path is None):
            raise BadRequest("Give target_id or target_path")
        async with self.vault.write() as w:
            source = await self._live(file_id)
            if body.target_id is not None:
                target = await self.files.get(body.target_id)
                if target is None or target.deleted_at is not None:
                    raise NotFound(f"File {body.target_id} not found")
            else:
                target = await self.files.get_live_by_key(path_key(body.target_path or ""))
                if target is None:
                    raise NotFound(f"No file at {body.target_path!r}")
            if target.id == source.id:
                raise BadRequest("A file cannot use itself")
            if await self.links.find(source.id, target.id, body.kind) is not None:
                raise Conflict(f"{source.path!r} already uses {target.path!r}")
            link = await self.links.add(
                FileLink(
                    source_id=source.id, target_id=target.id, kind=body.kind, note=body.note.strip(), created_by=user.id
                )
            )
            entry = LinkAdded(
                file_id=source.id,
                path=source.path,
                user=user.username,
                link_id=link.id,
                kind=link.kind,
                target_id=target.id,
                target=target.path,
                note=link.note,
            )
            await w.journal(entry, actor=user)
            out = await self._links_out(source, view_of(user, self.settings))
        return out

    async def remove(self, file_id: int, link_id: int, user: User) -> LinksOut:
        roles.require(user, roles.WRITERS, "Viewers cannot change where-used links")
        async with self.vault.write() as w:
            source = await self._live(file_id)
            link = await self.links.get_for(source.id, link_id)
            if link is None:
                raise NotFound(f"{source.path!r} has no link {link_id}")
            target = await self.files.get(link.target_id)
            await self.links.remove(link)
            entry = LinkRemoved(
                file_id=source.id,
                path=source.path,
                user=user.username,
                link_id=link_id,
                kind=link.kind,
                target_id=link.target_id,
                target=target.path if target else "?",
            )
            await w.journal(entry, actor=user)
            out = await self._links_out(source, view_of(user, self.settings))
        return out

    async def _live(self, file_id: int) -> File:
        file = await self.files.get_for_update(file_id)
        if file is None or file.deleted_at is not None:
            raise NotFound(f"File {file_id} not found")
        return file

    async def _links_out(self, file: File, view: View) -> LinksOut:
        def visible(other: File) -> bool:
            return not view.floor or (
                other.revision_id is not None and other.state != FileState.obsolete and other.deleted_at is None
            )

        uses = [_link_out(link, other) for link, other in await self.links.uses(file.id) if visible(other)]
        used_by = [_link_out(link, other) for link, other in await self.links.used_by(file.id) if visible(other)]
        return LinksOut(file_id=file.id, path=file.path, uses=uses, used_by=used_by)


def _link_out(link: FileLink, other: File) -> LinkOut:
    return LinkOut(
        id=link.id,
        kind=link.kind,
        note=link.note,
        created_at=link.created_at,
        file=LinkedFile(
            id=other.id,
            path=other.path,
            state=other.state,
            revision=None,
            deleted=other.deleted_at is not None,
        ),
    )


@dataclass(frozen=True)
class PacketEntry:
    name: str  # the path inside the zip
    blob_sha: str
    size: int
    at: datetime


class PacketService:
    """Every file carrying a part number, grouped for the shop, and all of them as one streamed zip."""

    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.files = FileRepository(session)

    async def packet(self, user: User, part_number: str) -> PacketOut:
        view = view_of(user, self.settings)
        rows = await self._rows(part_number, view)
        operations = await self._operations([row.file.id for row in rows])
        items = [self._item(row, view, operations.get(row.file.id)) for row in rows]
        items.sort(
            key=lambda p: (_GROUP_ORDER[p.group], name_sort_key((p.operation or "").casefold()), p.file.sort_key)
        )
        return PacketOut(part_number=part_number.strip(), files=items, zip_url="")

    async def entries(self, user: User, part_number: str) -> list[PacketEntry]:
        """What the zip holds: each file's current version (on the floor: its current revision)."""
        view = view_of(user, self.settings)
        entries = []
        for row in await self._rows(part_number, view):
            out = file_out(row, floor=view.floor)
            entries.append(PacketEntry(out.path, out.blob_sha, out.size, out.updated_at))
        if not entries:
            raise NotFound(f"No file carries the part number {part_number!r}")
        return entries

    async def _rows(self, part_number: str, view: View) -> Sequence[FileRow]:
        wanted = part_number.strip()
        if not wanted:
            raise BadRequest("Give a part number")
        field = await CardFieldRepository(self.session).by_key("part_number")
        if field is None or field.removed_at is not None:
            raise NotFound("There is no part_number card field")
        condition = CardCondition(field.id, "eq", "lower", (wanted.lower(),))
        filters = FileFilter(card=(condition,), released_only=view.floor)
        rows = await self.files.search(filters, sort="name", descending=False, after=None, limit=PACKET_LIMIT + 1)
        if len(rows) > PACKET_LIMIT:
            raise BadRequest(f"More than {PACKET_LIMIT} files carry {wanted!r}; narrow it down")
        return rows

    async def _operations(self, file_ids: Sequence[int]) -> dict[int, str]:
        field = await CardFieldRepository(self.session).by_key("operation")
        if field is None:
            return {}
        values = await CardValueRepository(self.session).of_files(file_ids)
        return {i: v.value_text for i, vs in values.items() for v in vs if v.field_id == field.id}

    def _item(self, row: FileRow, view: View, operation: str | None) -> PacketFile:
        ext = extension_of(row.file.path)
        nc = {e.lower() for e in self.settings.nc_extensions}
        group = (
            "program" if ext in nc else "setup_sheet" if ext in SETUP_SHEETS else "model" if ext in MODELS else "other"
        )
        return PacketFile(group=group, operation=operation, file=file_out(row, floor=view.floor))  # type: ignore[arg-type]


class _Sink(io.RawIOBase):
    """Where zipfile writes: collects bytes until the stream takes them. Not seekable, so zipfile writes each
    entry's sizes and CRC after its data (a data descriptor) and never goes back."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def seekable(self) -> bool:
        return False

    def seek(self, *_: object) -> int:
        raise OSError("not seekable")

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


async def zip_stream(reads: GitReads, entries: Sequence[PacketEntry]) -> AsyncIterator[bytes]:
    """The entries as one zip, stored (programs and CAD files barely compress, and it costs no CPU), written as
    their bytes come out of Git: never more than a chunk of a file in memory, and no temp copy of the zip."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=entry.at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = entry.size
            with archive.open(info, mode="w", force_zip64=entry.size > 0xFFFF0000) as out:
                if entry.size:
                    async for chunk in reads.stream_blob(entry.blob_sha, 0, entry.size):
                        out.write(chunk)
                        if sink.position and sink.chunks:
                            yield sink.drain()
            yield sink.drain()
    yield sink.drain()
