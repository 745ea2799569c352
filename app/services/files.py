"""The vault: upload, list, read, history, diff, blame, delete and restore.

A write takes advisory locks on its paths, commits to Git (in a thread), then writes the
catalog rows and the audit rows and commits the database transaction. Git goes first so the
catalog never points at a commit that does not exist; a Git commit whose transaction then
fails is harmless and `camvault reindex` picks it up.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, Forbidden, LockHeld, NotFound, StorageUnavailable
from app.models import File, FileVersion, Role, User
from app.repositories.files import FileFilter, FileRepository, FileRow, SortKey, Status, VersionRepository
from app.repositories.locks import LockRepository
from app.schemas.file import (
    BinaryDiff,
    BinarySide,
    BlameLine,
    BlameOut,
    FileOut,
    FilePage,
    FolderList,
    FolderOut,
    HistoryPage,
    LockInfo,
    TextDiff,
    UploadOut,
    VersionOut,
)
from app.services import audit, events
from app.services.cursors import decode_cursor, encode_cursor
from app.services.paths import join_folder, normalise_folder, normalise_vault_path, path_key
from app.storage.git_store import Change, CommitResult, GitStore, GitStoreError, Identity

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
class Download:
    path: str
    version: int
    blob_sha: str
    size: int
    start: int
    end: int  # inclusive
    body: AsyncIterator[bytes] | None  # None when the client's copy is current (304)


async def commit_to_vault(store: GitStore, changes: list[Change], *, author: User, message: str) -> CommitResult:
    """Commit to Git; a Git failure becomes StorageUnavailable (503): the branch has not moved, nothing changed."""
    try:
        return await store.write(changes, author=identity(author), message=message)
    except GitStoreError:
        logger.exception("git write failed user=%s paths=%s", author.username, [c.path for c in changes][:5])
        raise StorageUnavailable() from None


async def blob_sha_of(store: GitStore, source: Path) -> str:
    """The Git blob id `source` would get (to spot a check-in of unchanged content); nothing is stored."""
    try:
        return await store.hash_file(source)
    except GitStoreError:
        logger.exception("git hash-object failed source=%s", source)
        raise StorageUnavailable() from None


def identity(user: User) -> Identity:
    return Identity(name=user.full_name or user.username, email=user.email or f"{user.username}@camvault.invalid")


def commit_message(summary: str, action: str, user: User, body: str = "") -> str:
    """A readable subject plus trailers from which `camvault reindex` rebuilds the catalog."""
    text = summary if not body.strip() else f"{summary}\n\n{body.strip()}"
    return f"{text}\n\nCamvault-Action: {action}\nCamvault-User: {user.username}\n"


def file_out(row: FileRow) -> FileOut:
    f = row.file
    lock = None
    if row.lock is not None and row.holder is not None:
        lock = LockInfo(
            holder=row.holder,
            holder_id=row.lock.user_id,
            message=row.lock.message,
            since=row.lock.acquired_at,
            until=row.lock.expires_at,
        )
    cooldown = f.cooldown_until if f.cooldown_until and f.cooldown_until > datetime.now(UTC) else None
    return FileOut(
        id=f.id,
        path=f.path,
        size=f.size,
        version=f.version,
        blob_sha=f.blob_sha,
        head_commit=f.head_commit,
        created_at=f.created_at,
        created_by=row.created_by,
        updated_at=f.updated_at,
        updated_by=row.updated_by,
        deleted_at=f.deleted_at,
        deleted_by=row.deleted_by,
        lock=lock,
        cooldown_until=cooldown,
    )


def version_out(v: FileVersion) -> VersionOut:
    return VersionOut(
        version=v.version,
        commit=v.commit_sha,
        blob_sha=v.blob_sha,
        size=v.size,
        author=v.author_name,
        message=v.message,
        created_at=v.created_at,
    )


def is_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class FileService:
    def __init__(self, session: AsyncSession, settings: Settings, store: GitStore) -> None:
        self.session = session
        self.settings = settings
        self.store = store
        self.files = FileRepository(session)
        self.versions = VersionRepository(session)
        self.locks = LockRepository(session)

    # -- reading -------------------------------------------------------------------------

    async def get_row(self, file_id: int, *, include_deleted: bool = False) -> FileRow:
        row = await self.files.row(file_id)
        if row is None or (row.file.deleted_at is not None and not include_deleted):
            raise NotFound(f"File {file_id} not found")
        return row

    async def get(self, file_id: int, *, include_deleted: bool = False) -> FileOut:
        return file_out(await self.get_row(file_id, include_deleted=include_deleted))

    async def get_by_path(self, path: str) -> FileOut:
        row = await self.files.live_row_by_key(path_key(path))
        if row is None:
            raise NotFound(f"No file at {path!r}")
        return file_out(row)

    async def list(
        self,
        viewer: User,
        *,
        q: str | None = None,
        status: Status | None = None,
        holder: str | None = None,
        folder: str | None = None,
        recursive: bool = False,
        deleted: bool = False,
        sort: SortKey = "name",
        descending: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> FilePage:
        if deleted and viewer.role != Role.admin:
            raise Forbidden("Only admins can list deleted files")
        filters = FileFilter(
            q=q,
            status=status,
            holder=holder,
            deleted=deleted,
            folder=path_key(normalise_folder(folder)) if folder is not None else None,
            recursive=recursive or folder is None,
        )
        after: tuple[Any, int] | None = None
        if cursor:
            sort_kind = {"name": str, "size": int, "updated": datetime}[sort]
            sort_value, last_id = decode_cursor(cursor, sort_kind, int)
            after = (sort_value, last_id)
        rows = await self.files.search(filters, sort=sort, descending=descending, after=after, limit=limit + 1)
        page = list(rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = page[-1].file
            value: Any = {"name": last.path, "size": last.size, "updated": last.updated_at}[sort]
            next_cursor = encode_cursor(value, last.id)
        total = await self.files.count(filters)
        return FilePage(items=[file_out(r) for r in page], next_cursor=next_cursor, total=total)

    async def folders(self, parent: str) -> FolderList:
        """The folders directly inside `parent` ("" = the top of the vault) that hold live files."""
        parent = normalise_folder(parent)
        rows = await self.files.subfolders(path_key(parent))
        return FolderList(
            parent=parent,
            folders=[
                FolderOut(name=name, path=f"{parent}/{name}" if parent else name, files=count) for name, count in rows
            ],
        )

    async def resolve_version(self, file: File, version: int | None, commit: str | None) -> FileVersion:
        if version is not None and commit is not None:
            raise BadRequest("Give a version or a commit, not both")
        if commit is not None:
            found = await self.versions.by_commit(file.id, commit.lower())
            if found is None:
                raise NotFound(f"No version of {file.path!r} was made by commit {commit!r}")
            return found
        number = file.version if version is None else version
        found = await self.versions.get(file.id, number)
        if found is None:
            raise NotFound(f"{file.path!r} has no version {number}")
        return found

    async def download(
        self,
        file_id: int,
        *,
        version: int | None,
        commit: str | None,
        byte_range: tuple[int | None, int | None] | None,
        if_none_match: str | None,
    ) -> Download:
        file = (await self.get_row(file_id)).file
        v = await self.resolve_version(file, version, commit)
        if if_none_match and v.blob_sha in {
            tag.strip().strip('"').removeprefix("W/").strip('"') for tag in if_none_match.split(",")
        }:
            return Download(file.path, v.version, v.blob_sha, v.size, 0, max(v.size - 1, 0), None)
        start, end = 0, v.size - 1
        if byte_range is not None:
            start, end = self._satisfiable(byte_range, v.size)
        body = self.store.stream_blob(v.blob_sha, start, end + 1) if v.size else _empty()
        return Download(file.path, v.version, v.blob_sha, v.size, start, end, body)

    @staticmethod
    def _satisfiable(byte_range: tuple[int | None, int | None], size: int) -> tuple[int, int]:
        first, last = byte_range
        if first is None:  # suffix range: the last N bytes
            if not last:
                raise RangeNotSatisfiable(size)
            return max(size - last, 0), size - 1
        if first >= size:
            raise RangeNotSatisfiable(size)
        return first, size - 1 if last is None else min(last, size - 1)

    async def history(self, file_id: int, *, cursor: str | None, limit: int) -> HistoryPage:
        file = (await self.get_row(file_id, include_deleted=True)).file
        before = decode_cursor(cursor, int)[0] if cursor else None
        rows = await self.versions.page(file.id, before=before, limit=limit + 1)
        page = list(rows[:limit])
        next_cursor = encode_cursor(page[-1].version) if len(rows) > limit else None
        return HistoryPage(path=file.path, items=[version_out(v) for v in page], next_cursor=next_cursor)

    async def diff(self, file_id: int, from_version: int, to_version: int | None) -> TextDiff | BinaryDiff:
        file = (await self.get_row(file_id, include_deleted=True)).file
        a = await self.resolve_version(file, from_version, None)
        b = await self.resolve_version(file, to_version, None)
        if max(a.size, b.size) <= TEXT_LIMIT_BYTES:
            old = await self.store.read_blob(a.blob_sha, TEXT_LIMIT_BYTES)
            new = await self.store.read_blob(b.blob_sha, TEXT_LIMIT_BYTES)
            if is_text(old) and is_text(new):
                lines = difflib.unified_diff(
                    old.decode().splitlines(keepends=True),
                    new.decode().splitlines(keepends=True),
                    fromfile=f"{file.path}@v{a.version}",
                    tofile=f"{file.path}@v{b.version}",
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

    async def blame(self, file_id: int, version: int | None) -> BlameOut:
        file = (await self.get_row(file_id, include_deleted=True)).file
        v = await self.resolve_version(file, version, None)
        by_commit = await self.versions.versions_by_commit(file.id)
        if v.size > TEXT_LIMIT_BYTES or not is_text(await self.store.read_blob(v.blob_sha, TEXT_LIMIT_BYTES)):
            raise BadRequest("Blame is only available for text files")
        lines = await self.store.blame(v.commit_sha, file.path)
        return BlameOut(
            path=file.path,
            version=v.version,
            lines=[
                BlameLine(
                    line=i,
                    version=by_commit.get(line.commit),
                    commit=line.commit,
                    author=line.author,
                    date=line.date,
                    text=line.text,
                )
                for i, line in enumerate(lines, start=1)
            ],
        )

    # -- writing -------------------------------------------------------------------------

    async def upload(self, user: User, folder: str, incoming: Sequence[IncomingFile], message: str = "") -> UploadOut:
        if not incoming:
            raise BadRequest("No files in the upload")
        paths = [
            normalise_vault_path(join_folder(folder, f.filename), self.settings.allowed_extensions) for f in incoming
        ]
        keys = [path_key(p) for p in paths]
        if len(set(keys)) != len(keys):
            raise Conflict("The upload names the same path twice (names differ only by case or Unicode form)")
        await self.files.lock_paths(keys)
        for key in keys:
            existing = await self.files.get_live_by_key(key)
            if existing is not None:
                raise Conflict(f"{existing.path!r} already exists; new versions come through check-out and check-in")
        summary = f"Upload {paths[0]}" if len(paths) == 1 else f"Upload {len(paths)} files"
        result = await commit_to_vault(
            self.store,
            [Change(path=p, source=f.source) for p, f in zip(paths, incoming, strict=True)],
            author=user,
            message=commit_message(summary, "upload", user, message),
        )
        now = result.committed_at
        created: list[File] = []
        for path, key in zip(paths, keys, strict=True):
            blob = result.blobs[path]
            f = File(
                path=path,
                path_key=key,
                size=blob.size,
                blob_sha=blob.sha,
                head_commit=result.commit_sha,
                version=1,
                created_by=user.id,
                updated_by=user.id,
                created_at=now,
                updated_at=now,
            )
            await self.files.add(f)
            await self.versions.add(
                FileVersion(
                    file_id=f.id,
                    version=1,
                    commit_sha=result.commit_sha,
                    blob_sha=blob.sha,
                    size=blob.size,
                    author_id=user.id,
                    author_name=user.username,
                    message=message,
                    created_at=now,
                )
            )
            await audit.record(
                self.session,
                "file.uploaded",
                actor=user,
                target=path,
                details={"file_id": f.id, "version": 1, "size": blob.size, "commit": result.commit_sha},
            )
            await events.publish(
                self.session,
                "file_uploaded",
                file_id=f.id,
                path=path,
                user=user.username,
                version=1,
                size=blob.size,
                new_file=True,
            )
            created.append(f)
        await self.session.commit()
        logger.info("upload user=%s files=%d commit=%s", user.username, len(created), result.commit_sha[:12])
        rows = [await self.get_row(f.id) for f in created]
        return UploadOut(files=[file_out(r) for r in rows], commit=result.commit_sha)

    async def delete(self, file_id: int, admin: User, *, force: bool) -> FileOut:
        file = await self.files.get_for_update(file_id)
        if file is None or file.deleted_at is not None:
            raise NotFound(f"File {file_id} not found")
        lock = await self.locks.get_live(file.id)
        if lock is not None and not force:
            holder = await self.session.get(User, lock.user_id)
            raise LockHeld(holder.username if holder else "?", lock.acquired_at, lock.expires_at)
        result = await commit_to_vault(
            self.store,
            [Change(path=file.path, source=None)],
            author=admin,
            message=commit_message(f"Delete {file.path}", "delete", admin),
        )
        if lock is not None:
            await self.locks.delete(file.id)
        file.deleted_at = result.committed_at
        file.deleted_by = admin.id
        file.head_commit = result.commit_sha
        await audit.record(
            self.session,
            "file.deleted",
            actor=admin,
            target=file.path,
            details={
                "file_id": file.id,
                "commit": result.commit_sha,
                "forced": lock is not None,
                "released_lock_of": lock.user_id if lock else None,
            },
        )
        await events.publish(self.session, "file_deleted", file_id=file.id, path=file.path, user=admin.username)
        await self.session.commit()
        return file_out(await self.get_row(file.id, include_deleted=True))

    async def restore(self, file_id: int, admin: User) -> FileOut:
        file = await self.files.get_for_update(file_id)
        if file is None or file.deleted_at is None:
            raise NotFound(f"No deleted file {file_id}")
        await self.files.lock_paths([file.path_key])
        live = await self.files.get_live_by_key(file.path_key)
        if live is not None:
            raise Conflict(f"{live.path!r} exists again; delete or rename it before restoring")
        result = await commit_to_vault(
            self.store,
            [Change(path=file.path, source=None, blob_sha=file.blob_sha)],
            author=admin,
            message=commit_message(f"Restore {file.path}", "restore", admin),
        )
        file.deleted_at = None
        file.deleted_by = None
        file.head_commit = result.commit_sha
        file.updated_at = result.committed_at
        file.updated_by = admin.id
        await audit.record(
            self.session,
            "file.restored",
            actor=admin,
            target=file.path,
            details={"file_id": file.id, "version": file.version, "commit": result.commit_sha},
        )
        await events.publish(
            self.session, "file_restored", file_id=file.id, path=file.path, user=admin.username, version=file.version
        )
        await self.session.commit()
        return file_out(await self.get_row(file.id))


class RangeNotSatisfiable(BadRequest):
    status_code = 416

    def __init__(self, size: int) -> None:
        super().__init__("Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
        self.size = size


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an async generator that yields nothing
        yield b""
