"""The vault: upload, list, read, history, diff, blame, delete and restore.

Writes go through the write pipeline (app/vault/pipeline.py): blobs first, then one transaction that
locks the paths, commits to Git on the catalog's head, writes the catalog rows and the journal, and
commits; the branch ref moves after that.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, DomainError, NotFound
from app.journal.vault import FileDeleted, FileRestored, FileUploaded
from app.models import FileVersion, User
from app.nc import ProgramFacts
from app.repositories.cards_search import sort_position
from app.repositories.files import FileRepository, FileRow, SortKey, VersionRepository
from app.repositories.lifecycle import RevisionRepository
from app.repositories.locks import LockRepository
from app.repositories.program_facts import VersionFactsRepository
from app.schemas.file import (
    BinaryDiff,
    BinarySide,
    BlameLine,
    BlameOut,
    FactsSummary,
    FileKind,
    FileOut,
    FilePage,
    HistoryPage,
    Notice,
    TextDiff,
    UploadOut,
    VersionOut,
)
from app.services.answers import file_out, version_out
from app.services.cards import CardService
from app.services.cards_search import decode_card_cursor, encode_card_cursor, listing_filters, listing_sort
from app.services.checked_out import refuse_if_checked_out
from app.services.cursors import decode_cursor, encode_cursor
from app.services.lifecycle import LifecycleService
from app.services.listing import ListingQuery, listing_of, next_after
from app.services.paths import (
    join_folder,
    normalise_vault_path,
    path_key,
    versioned_name,
)
from app.services.visibility import View, require_released, require_visible, view_of
from app.storage.git_store import TreeChange, split_lines
from app.vault.pipeline import Vault, commit_message
from app.vault.program_facts import facts_pending

logger = logging.getLogger(__name__)

# Text diffs and blame read both sides into memory; above this a file is treated as binary.
TEXT_LIMIT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file already on disk (a temp file), with the name the client gave it."""

    filename: str
    source: Path
    size: int


@dataclass(frozen=True)
class Content:
    """Which bytes a download names: one version of a file (HTTP ranges and ETags are the route's)."""

    name: str  # the download's file name
    version: int
    blob_sha: str
    size: int


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def empty_file_notice(name: str) -> Notice:
    """A 0-byte file is accepted (it may be meant) but is almost always a CAM export that failed: say so."""
    return Notice(
        code="empty_file",
        message=f"{name} is empty (0 bytes); if that is not what you meant, check the export and check in again",
        file=name,
    )


def is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def note_facts_pending(item: FileOut | VersionOut, path: str, size: int, made_at: datetime, settings: Settings) -> None:
    """`facts_pending` of a file or version shown without facts (app/vault/program_facts.py says when)."""
    item.facts_pending = item.facts is None and facts_pending(path, size, made_at, datetime.now(UTC), settings)


class FileService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.store = vault.store
        self.files = FileRepository(session)
        self.versions = VersionRepository(session)
        self.locks = LockRepository(session)
        self.revisions = RevisionRepository(session)
        self.facts = VersionFactsRepository(session)
        self.lifecycle = LifecycleService(session, settings, vault)

    # -- reading: every read of a file goes through its reader's view (app/services/visibility.py) -------------

    def view(self, user: User, *, released_only: bool = False) -> View:
        return view_of(user, self.settings, released_only=released_only)

    async def get_row(self, file_id: int, view: View, *, include_deleted: bool = False) -> FileRow:
        return require_visible(await self.files.row(file_id), view, file_id, include_deleted=include_deleted)

    async def get(
        self, file_id: int, user: User, *, include_deleted: bool = False, released_only: bool = False
    ) -> FileOut:
        view = self.view(user, released_only=released_only)
        out = file_out(await self.get_row(file_id, view, include_deleted=include_deleted), floor=view.floor)
        return await self._with_facts(out)

    async def get_by_path(self, path: str, user: User) -> FileOut:
        view = self.view(user)
        row = await self.files.live_row_by_key(path_key(path))
        if row is None:
            raise NotFound(f"No file at {path!r}")
        return await self._with_facts(file_out(require_visible(row, view, row.file.id), floor=view.floor))

    async def _with_facts(self, out: FileOut) -> FileOut:
        """The file with the program facts of the version it shows (the latest; on the floor the current
        revision's)."""
        found = await self.facts.of_version(out.id, out.version)
        if found is not None:
            out.facts = ProgramFacts.model_validate(found)
        note_facts_pending(out, out.path, out.size, out.updated_at, self.settings)
        return out

    async def list(
        self,
        viewer: User,
        query: ListingQuery,
        *,
        cursor: str | None = None,
        limit: int = 50,
        count: bool = False,
        card: Sequence[str] = (),
        facts: bool = False,
    ) -> FilePage:
        """One page of files as `viewer` may see them (app/services/listing.py); `total` only when asked for
        (`count`): it is a count of every match, which grows with the vault while the page does not. `card`:
        data card filters (`key:op:value`); `sort` may name a card field (`card.part_number`). `facts`: each
        item with `facts_summary`, from the version it shows."""
        listing = listing_of(viewer, query, self.settings)
        floor = listing.floor
        card_sort = await listing_sort(self.session, query.sort, descending=query.descending)
        # A card sort orders by the field's values (the file's own keys are not used).
        own_sort: SortKey = "name" if card_sort is not None else cast(SortKey, query.sort)
        filters = dataclass_replace(
            listing.filters, card=await listing_filters(self.session, card), card_sort=card_sort
        )
        after: tuple[Any, ...] | None = None
        if cursor and card_sort is not None:
            after = decode_card_cursor(cursor, card_sort)
        elif cursor:
            sort_kind = {"name": str, "size": int, "updated": datetime}[own_sort]
            sort_value, last_id = decode_cursor(cursor, sort_kind, int)
            after = (sort_value, last_id)
        rows = await self.files.search(
            filters, sort=own_sort, descending=query.descending, after=after, limit=limit + 1
        )
        page = list(rows[:limit])
        next_cursor = None
        if len(rows) > limit and card_sort is not None:
            flag, position = await sort_position(self.session, page[-1].file.id, card_sort)
            next_cursor = encode_card_cursor(flag, position, page[-1].file.id)
        elif len(rows) > limit:
            next_cursor = encode_cursor(*next_after(file_out(page[-1], floor=floor), own_sort))
        total = await self.files.count(filters) if count else None
        cards = await CardService(self.session, self.settings, self.vault).page_values([r.file.id for r in page])
        items = [file_out(r, floor=floor) for r in page]
        if facts:
            summaries = await self.facts.summaries((item.id, item.version) for item in items)
            for item in items:
                found = summaries.get((item.id, item.version))
                if found is not None:
                    item.facts_summary = FactsSummary(tools=found[0], cycle_time_s=found[1], z_min=found[2])
                else:
                    note_facts_pending(item, item.path, item.size, item.updated_at, self.settings)
        return FilePage(items=items, next_cursor=next_cursor, total=total, cards=cards)

    async def resolve_version(
        self,
        row: FileRow,
        view: View,
        *,
        version: int | None = None,
        commit: str | None = None,
        revision: str | None = None,
    ) -> FileVersion:
        """The version a read names: a number, the commit that made it (on either branch), a revision label, or
        the latest (on the floor: the current revision). The floor reads released versions only."""
        file = row.file
        if sum(x is not None for x in (version, commit, revision)) > 1:
            raise BadRequest("Give one of version, commit and revision")
        released = await self.revisions.released_versions(file.id) if view.floor else None
        if revision is not None:
            named = await self.revisions.by_label(file.id, revision.strip().upper())
            if named is None:
                raise NotFound(f"{file.path!r} has no revision {revision!r}")
            number = named.version
        elif commit is not None:
            found = await self.versions.by_commit(file.id, commit.lower())
            if found is None:
                released_by = await self.revisions.by_commit(file.id, commit.lower())
                found = await self.versions.get(file.id, released_by.version) if released_by else None
            if found is None:
                raise NotFound(f"No version of {file.path!r} was made by commit {commit!r}")
            require_released(released, found.version, file.path)
            return found
        elif version is not None:
            number = version
        else:
            number = row.revision.version if view.floor and row.revision else file.version
        require_released(released, number, file.path)
        found = await self.versions.get(file.id, number)
        if found is None:
            raise NotFound(f"{file.path!r} has no version {number}")
        return found

    async def content(
        self, file_id: int, user: User, *, version: int | None, commit: str | None, revision: str | None = None
    ) -> Content:
        view = self.view(user)
        row = await self.get_row(file_id, view)
        file = row.file
        v = await self.resolve_version(row, view, version=version, commit=commit, revision=revision)
        # An older version is named for what it is (`OP10.v1.nc`, with the name it had then), so it is never
        # taken for the current program on the floor; the latest (on the floor: the current revision) keeps
        # the file's name.
        current = row.revision.version if view.floor and row.revision else file.version
        name = basename(file.path) if v.version == current else versioned_name(v.path, v.version)
        return Content(name, v.version, v.blob_sha, v.size)

    def stream(self, content: Content, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` (inclusive) of the content, streamed whatever its size."""
        if not content.size:
            return _empty()
        return self.store.reads.stream_blob(content.blob_sha, start, end + 1)

    async def history(self, file_id: int, user: User, *, cursor: str | None, limit: int) -> HistoryPage:
        """Versions newest first, with their revision labels; on the floor, only the released ones."""
        view = self.view(user)
        file = (await self.get_row(file_id, view, include_deleted=not view.floor)).file
        before = decode_cursor(cursor, int)[0] if cursor else None
        rows = await self.versions.page(file.id, before=before, limit=limit + 1, released_only=view.floor)
        page = list(rows[:limit])
        next_cursor = encode_cursor(page[-1][0].version) if len(rows) > limit else None
        facts = await self.facts.of_versions([v.id for v, _ in page])
        items = []
        for v, label in page:
            item = version_out(v, label)
            if v.id in facts:
                item.facts = ProgramFacts.model_validate(facts[v.id])
            note_facts_pending(item, v.path, v.size, v.created_at, self.settings)
            items.append(item)
        return HistoryPage(path=file.path, items=items, next_cursor=next_cursor)

    async def kind(self, file_id: int, user: User, version: int | None) -> FileKind:
        """Whether a version is text (blame and line diffs are offered) or binary: read from Git, so not part of
        the history's answer, which the catalog alone gives."""
        view = self.view(user)
        row = await self.get_row(file_id, view, include_deleted=not view.floor)
        v = await self.resolve_version(row, view, version=version)
        text = v.size <= TEXT_LIMIT_BYTES and is_text(await self.store.reads.read_blob(v.blob_sha, TEXT_LIMIT_BYTES))
        return FileKind(version=v.version, size=v.size, text=text)

    async def diff(self, file_id: int, user: User, from_version: int, to_version: int | None) -> TextDiff | BinaryDiff:
        view = self.view(user)
        row = await self.get_row(file_id, view, include_deleted=not view.floor)
        file = row.file
        a = await self.resolve_version(row, view, version=from_version)
        b = await self.resolve_version(row, view, version=to_version)
        if max(a.size, b.size) <= TEXT_LIMIT_BYTES:
            old = await self.store.reads.read_blob(a.blob_sha, TEXT_LIMIT_BYTES)
            new = await self.store.reads.read_blob(b.blob_sha, TEXT_LIMIT_BYTES)
            if is_text(old) and is_text(new):
                lines = difflib.unified_diff(
                    old.decode().splitlines(keepends=True),
                    new.decode().splitlines(keepends=True),
                    fromfile=f"{a.path}@v{a.version}",
                    tofile=f"{b.path}@v{b.version}",
                )
                return TextDiff(path=file.path, from_version=a.version, to_version=b.version, diff="".join(lines))
        sides = [BinarySide(version=v.version, size=v.size, blob_sha=v.blob_sha) for v in (a, b)]
        return BinaryDiff(
            path=file.path,
            from_version=a.version,
            to_version=b.version,
            identical=a.blob_sha == b.blob_sha,
            sides=sides,
        )

    async def blame(self, file_id: int, user: User, version: int | None) -> BlameOut:
        """Who wrote each line of a version: its versions before it, in order, wherever the file was then.

        Follows the file by id through the catalog (like `git log --follow`, without guessing renames from
        paths), so blame works across renames and moves, and an old version's blame at the path it had.
        On the floor the version must be released; the lines' origins may be any earlier version (who wrote
        a line, never its bytes).
        """
        view = self.view(user)
        row = await self.get_row(file_id, view, include_deleted=not view.floor)
        file = row.file
        v = await self.resolve_version(row, view, version=version)
        data = await self.store.reads.read_blob(v.blob_sha, TEXT_LIMIT_BYTES) if v.size <= TEXT_LIMIT_BYTES else b""
        if v.size > TEXT_LIMIT_BYTES or not is_text(data):
            raise BadRequest("Blame is only available for text files")
        versions = await self.versions.up_to(file.id, v.version)
        origins = await self.store.history.line_origins([(x.blob_sha, x.size) for x in versions], TEXT_LIMIT_BYTES)
        authors = await self.store.history.authors(sorted({versions[i].commit_sha for i in set(origins)}))
        lines = [line.removesuffix(b"\r").decode() for line in split_lines(data)]
        return BlameOut(
            path=v.path,
            version=v.version,
            lines=[
                BlameLine(
                    line=number,
                    version=versions[origin].version,
                    commit=versions[origin].commit_sha,
                    author=authors.get(versions[origin].commit_sha, versions[origin].author_name),
                    date=versions[origin].created_at,
                    text=text,
                )
                for number, (origin, text) in enumerate(zip(origins, lines, strict=True), start=1)
            ],
        )

    # -- writing -------------------------------------------------------------------------

    async def upload(
        self,
        user: User,
        folder: str,
        incoming: Sequence[IncomingFile],
        message: str = "",
        *,
        card: Mapping[str, str] | None = None,
    ) -> UploadOut:
        if not incoming:
            raise BadRequest("No files in the upload")
        paths = []
        for f in incoming:
            try:
                paths.append(normalise_vault_path(join_folder(folder, f.filename), self.settings.allowed_extensions))
            except DomainError as exc:
                exc.file = f.filename
                raise
        names = {path: f.filename for path, f in zip(paths, incoming, strict=True)}
        keys = [path_key(p) for p in paths]
        if len(set(keys)) != len(keys):
            raise Conflict("The upload names the same path twice (names differ only by case or Unicode form)")
        for key in keys:
            inside = next((other for other in keys if other.startswith(key + "/")), None)
            if inside is not None:
                raise Conflict(f"The upload makes {key!r} both a file and a folder (of {inside!r})")
        blobs, facts = await self.vault.stage_with_facts(paths, [f.source for f in incoming])
        summary = f"Upload {paths[0]}" if len(paths) == 1 else f"Upload {len(paths)} files"
        async with self.vault.write() as w:
            await w.lock_paths(keys)
            taken = {f.path_key: f for f in await self.files.live_by_keys(keys)}
            for path, key in zip(paths, keys, strict=True):
                existing = taken.get(key)
                if existing is not None:
                    exists = Conflict(
                        f"{existing.path!r} already exists; new versions come through check-out and check-in"
                    )
                    exists.file = names[path]
                    raise exists
            await w.refuse_clashes(paths, keys)
            commit = await w.commit(
                [TreeChange(p, b) for p, b in zip(paths, blobs, strict=True)],
                author=user,
                message=commit_message(summary, "upload", user, message),
            )
            created = await w.add_files(commit, paths, keys, author=user, message=message, facts=facts)
            cards = CardService(self.session, self.settings, self.vault)
            await cards.after_files_added(created)  # their folders' card values
            uploaded = [
                FileUploaded(file_id=f.id, path=f.path, user=user.username, size=f.size, commit=commit.commit_sha)
                for f in created
            ]
            await w.journal_many(uploaded, actor=user)
            if card:
                for new in created:
                    await cards.apply(w, new, user, card, via="upload")
            rows = await self.files.rows([new.id for new in created])
        logger.info("upload user=%s files=%d commit=%s", user.username, len(created), commit.commit_sha[:12])
        warnings = [empty_file_notice(f.filename) for f in incoming if f.size == 0]
        files = [file_out(r).model_copy(update={"facts": facts.get(r.file.path)}) for r in rows]
        for out in files:
            note_facts_pending(out, out.path, out.size, out.updated_at, self.settings)
        return UploadOut(files=files, commit=commit.commit_sha, warnings=warnings)

    async def delete(self, file_id: int, admin: User, *, force: bool) -> FileOut:
        async with self.vault.write() as w:
            file = await self.files.get_for_update(file_id)
            if file is None or file.deleted_at is not None:
                raise NotFound(f"File {file_id} not found")
            held = await self.locks.live_with_holder(file.id)
            if not force:
                refuse_if_checked_out(held)
            lock = held[0] if held else None
            commit = await w.commit(
                [TreeChange(file.path, None)],
                author=admin,
                message=commit_message(f"Delete {file.path}", "delete", admin),
            )
            if lock is not None:
                await self.locks.delete(file.id)
                await self.locks.close_history(file.id, "deleted", admin.id)
            w.mark_deleted(file, commit, by=admin)
            await self.lifecycle.withdraw_for_delete(w, file, admin)  # off the released branch, review withdrawn
            entry = FileDeleted(
                file_id=file.id,
                path=file.path,
                user=admin.username,
                commit=commit.commit_sha,
                forced=lock is not None,
                released_lock_of=lock.user_id if lock else None,
            )
            await w.journal(entry, actor=admin)
            out = await self._answer(file.id)
        return out

    async def restore(self, file_id: int, admin: User) -> FileOut:
        async with self.vault.write() as w:
            file = await self.files.get_for_update(file_id)
            if file is None or file.deleted_at is None:
                raise NotFound(f"No deleted file {file_id}")
            await w.lock_paths([file.path_key])
            live = await self.files.get_live_by_key(file.path_key)
            if live is not None:
                raise Conflict(f"{live.path!r} exists again; delete or rename it before restoring")
            await w.refuse_clashes([file.path], [file.path_key])
            blob = await self.vault.existing_blob(file.blob_sha)
            commit = await w.commit(
                [TreeChange(file.path, blob)],
                author=admin,
                message=commit_message(f"Restore {file.path}", "restore", admin),
            )
            w.mark_restored(file, commit, by=admin)
            await self.lifecycle.return_for_restore(w, file, admin)  # its revision back on the released branch
            entry = FileRestored(
                file_id=file.id, path=file.path, user=admin.username, version=file.version, commit=commit.commit_sha
            )
            await w.journal(entry, actor=admin)
            out = await self._answer(file.id)
        return out

    async def _answer(self, file_id: int) -> FileOut:
        """The file as this write's transaction left it."""
        row = await self.files.row(file_id)
        assert row is not None
        return file_out(row)


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""
