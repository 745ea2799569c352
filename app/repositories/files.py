from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    any_,
    cast,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased

from app.models import File, FileRevision, FileState, FileVersion, Lock, Review, ReviewApproval, ReviewStatus, User
from app.repositories.base import Repository
from app.repositories.cards_search import CardCondition, CardSort, card_condition, card_sort_columns, text_search

SortKey = Literal["name", "size", "updated"]
Status = Literal["available", "checked_out"]
# Any select statement, whatever its columns (SQLAlchemy 2.1 types Select by its column tuple).
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class FileFilter:
    """Which files a listing shows. `folder` is a path key ("" = the top); None means the whole vault."""

    q: str | None = None
    status: Status | None = None
    holder: str | None = None
    deleted: bool = False
    folder: str | None = None
    recursive: bool = True
    state: FileState | None = None  # the lifecycle state (app/models/lifecycle.py)
    released_only: bool = False  # the shop floor's view: files with a current revision, not obsolete
    # (low, high): every sort key inside `folder` lies strictly between them (app/services/paths.py folder_sort_range)
    sort_range: tuple[str, str] | None = None
    card: tuple[CardCondition, ...] = ()  # data card filters (app/repositories/cards_search.py)
    card_sort: CardSort | None = None  # sort by a card field instead of `sort`


@dataclass(frozen=True)
class FileRow:
    """A file with the names the API shows next to it."""

    file: File
    lock: Lock | None
    holder: str | None
    created_by: str | None
    updated_by: str | None
    deleted_by: str | None
    revision: FileRevision | None = None  # the current revision (what the floor gets)
    review: Review | None = None  # the open review, if any
    approved_by: list[str] | None = None  # who approved the open review so far


def path_lock_key(path_key: str) -> int:
    """A signed 64-bit advisory-lock key for one vault path."""
    return int.from_bytes(hashlib.blake2b(path_key.encode(), digest_size=8).digest(), "big", signed=True)


def live_lock_condition() -> ColumnElement[bool]:
    """A lock counts while it has no expiry or its expiry is still ahead."""
    return or_(Lock.expires_at.is_(None), Lock.expires_at > func.now())


def live_lock_of_file() -> ColumnElement[bool]:
    """The join condition of a file's live lock (the file row joined to `locks`)."""
    return and_(Lock.file_id == File.id, live_lock_condition())


def _ids_with_live_lock() -> AnySelect:
    """File ids joined to their live lock: what a listing's filters read, before any row is built."""
    return select(File.id).outerjoin(Lock, live_lock_of_file())


def floor_condition() -> ColumnElement[bool]:
    """The shop floor's files: a current revision, not obsolete (app/services/visibility.py; partial index
    ix_files_released_path_id)."""
    return and_(File.revision_id.is_not(None), File.state != FileState.obsolete.value)


class FileRepository(Repository[File]):
    model = File

    async def lock_paths(self, path_keys: Sequence[str]) -> None:
        """Serialise writers of the same paths until this transaction ends, in one statement.

        Each path is locked exclusively and each folder above it shared: two files in one folder do not wait
        for each other, but a file and a file of the same name as one of its folders do (the clash check
        then sees the other's committed row). Sorted by key, so two writers never deadlock.
        """
        wanted: dict[int, bool] = {}  # lock key -> shared
        for key in path_keys:
            parts = key.split("/")
            for depth in range(1, len(parts)):
                wanted.setdefault(path_lock_key("/".join(parts[:depth])), True)
            wanted[path_lock_key(key)] = False
        keys = sorted(wanted)
        # unnest yields the rows in array order, so the locks are taken in sorted order.
        await self.session.execute(
            text(
                "SELECT CASE WHEN t.shared THEN pg_advisory_xact_lock_shared(t.k) ELSE pg_advisory_xact_lock(t.k) END "
                "FROM unnest(CAST(:keys AS bigint[]), CAST(:shared AS boolean[])) AS t(k, shared)"
            ),
            {"keys": keys, "shared": [wanted[k] for k in keys]},
        )

    async def live_by_keys(self, path_keys: Sequence[str]) -> Sequence[File]:
        """The live files at any of these keys, in one statement (one array parameter however many)."""
        stmt = select(File).where(
            File.path_key == any_(cast(list(path_keys), ARRAY(String))), File.deleted_at.is_(None)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def clashing_any(
        self, path_keys: Sequence[str], sort_ranges: Sequence[tuple[str, str]]
    ) -> tuple[str, File] | None:
        """A live file at a folder of one of the keys, or inside one of the keys as a folder, with that key.

        Two statements however many keys: the folders of every key at once, then every key's inside at once,
        a probe per key bounded by `sort_ranges` (each key's folder_sort_range), which the name-order index
        answers; a pattern per key would be a scan of every file per key.
        """
        folders = sorted({"/".join(k.split("/")[:d]) for k in path_keys for d in range(1, k.count("/") + 1)})
        if folders:
            stmt = (
                select(File)
                .where(File.deleted_at.is_(None), File.path_key == any_(cast(folders, ARRAY(String))))
                .limit(1)
            )
            found = (await self.session.execute(stmt)).scalar_one_or_none()
            if found is not None:
                return next(k for k in path_keys if k.startswith(found.path_key + "/")), found
        inside = select(File).from_statement(_INSIDE_ANY)
        params = {"keys": list(path_keys), "lows": [r[0] for r in sort_ranges], "highs": [r[1] for r in sort_ranges]}
        found = (await self.session.execute(inside, params)).scalar_one_or_none()
        if found is not None:
            return next(k for k in path_keys if found.path_key.startswith(k + "/")), found
        return None

    async def get_live_by_key(self, path_key: str) -> File | None:
        stmt = select(File).where(File.path_key == path_key, File.deleted_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def live_under_for_update(self, folder_key: str) -> Sequence[File]:
        """Every live file inside a folder (any depth), row-locked in id order (a folder move's files)."""
        stmt = (
            select(File)
            .where(File.deleted_at.is_(None), *_in_folder(folder_key, recursive=True))
            .order_by(File.id)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def any_live_under(self, folder_key: str) -> bool:
        stmt = select(File.id).where(File.deleted_at.is_(None), *_in_folder(folder_key, recursive=True)).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def live_key_of(self, file_id: int) -> str | None:
        """The path key of a live file, read without loading (or locking) its row."""
        stmt = select(File.path_key).where(File.id == file_id, File.deleted_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_rows(self, file_ids: Sequence[int]) -> None:
        """Row-lock files in id order (as bulk writers do, so two never deadlock), in one statement with one
        array parameter however many (a CSV import's tens of thousands)."""
        ids = cast(sorted(file_ids), ARRAY(Integer))
        await self.session.execute(select(File.id).where(File.id == any_(ids)).order_by(File.id).with_for_update())

    async def get_for_update(self, file_id: int) -> File | None:
        stmt = select(File).where(File.id == file_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def _rows(self) -> AnySelect:
        return _file_rows()

    async def row(self, file_id: int) -> FileRow | None:
        result = (await self.session.execute(self._rows().where(File.id == file_id))).first()
        return FileRow(*result) if result else None

    async def rows(self, file_ids: Sequence[int]) -> list[FileRow]:
        """Several files with their names, in one query, in the order asked."""
        found = {r[0].id: FileRow(*r) for r in await self.session.execute(self._rows().where(File.id.in_(file_ids)))}
        return [found[i] for i in file_ids]

    async def live_row_by_key(self, path_key: str) -> FileRow | None:
        stmt = self._rows().where(File.path_key == path_key, File.deleted_at.is_(None))
        result = (await self.session.execute(stmt)).first()
        return FileRow(*result) if result else None

    def _filtered(self, stmt: AnySelect, f: FileFilter) -> AnySelect:
        stmt = stmt.where(File.deleted_at.is_not(None) if f.deleted else File.deleted_at.is_(None))
        if f.folder is not None:
            stmt = stmt.where(*_in_folder(f.folder, recursive=f.recursive))
        if f.sort_range is not None:
            # The folder's files again, said so that the name-order index can answer it.
            stmt = stmt.where(File.sort_key > f.sort_range[0], File.sort_key < f.sort_range[1])
        if f.q:
            stmt = stmt.where(text_search(f.q))  # the path or any card value
        for condition in f.card:
            stmt = stmt.where(card_condition(condition))
        if f.status == "checked_out":
            stmt = stmt.where(Lock.file_id.is_not(None))
        elif f.status == "available":
            stmt = stmt.where(Lock.file_id.is_(None))
        if f.holder:
            holder_ids = select(User.id).where(func.lower(User.username) == f.holder.lower())
            stmt = stmt.where(Lock.user_id.in_(holder_ids))
        if f.state is not None:
            stmt = stmt.where(File.state == f.state.value)
        if f.released_only:
            stmt = stmt.where(floor_condition())
        return stmt

    async def search(
        self, f: FileFilter, *, sort: SortKey, descending: bool, after: tuple[Any, ...] | None, limit: int
    ) -> Sequence[FileRow]:
        """One page in keyset order: `after` is the (sort value, id) of the previous page's last row (for a card
        sort: (flag, value, id), app/repositories/cards_search.py).

        The floor's view sorts by what it shows: the current revision's size and release time. The page's ids are
        chosen first, from the files with only what filters and orders read (their live lock and revision), and
        only those rows are joined to the rest: a search matching 2,000 files joins 50 of them, not 2,000.
        """
        base = _ids_with_live_lock().outerjoin(FileRevision, FileRevision.id == File.revision_id)
        stmt = self._filtered(base, f)
        columns: list[Any] = [sort_column(sort, released=f.released_only)]
        if f.card_sort is not None:
            stmt, columns = card_sort_columns(stmt, f.card_sort)
        if after is not None:
            key = tuple_(*columns, File.id)
            stmt = stmt.where(key < tuple_(*after) if descending else key > tuple_(*after))
        order = [c.desc() for c in (*columns, File.id)] if descending else [c.asc() for c in (*columns, File.id)]
        labelled = [c.label(f"sort_{i}") for i, c in enumerate(columns)]
        page = stmt.add_columns(*labelled).order_by(*order).limit(limit).subquery("page")
        again = [page.c[f"sort_{i}"] for i in range(len(columns))] + [page.c.id]
        rows = await self.session.execute(
            file_rows_with(live_lock_of_file(), start=page).order_by(
                *(c.desc() if descending else c.asc() for c in again)
            )
        )
        return [FileRow(*r) for r in rows]

    async def count(self, f: FileFilter) -> int:
        stmt = self._filtered(_ids_with_live_lock(), f)
        return (await self.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()

    async def subfolders(self, parent_key: str, *, released_only: bool = False) -> Sequence[tuple[str, int]]:
        """The folders directly inside `parent_key` ("" = the top) that hold live files, with how many (at any depth).

        Grouped by key, so `Jobs/` and `jobs/` are one folder, as on the Windows and macOS disks files are
        checked out to; shown with the first spelling in sort order. Components are counted with split_part on
        both path and key: casefolding can change a name's length but never its number of '/'.
        """
        depth = parent_key.count("/") + 1 if parent_key else 0
        # COLLATE "C": the same spelling and order whatever the database's default collation is.
        key_name = func.split_part(File.path_key, "/", depth + 1).collate("C")
        stmt = (
            select(func.min(func.split_part(File.path, "/", depth + 1).collate("C")), func.count())
            .where(File.deleted_at.is_(None), *_in_folder(parent_key, recursive=True))
            .where(func.split_part(File.path_key, "/", depth + 2) != "")
            .group_by(key_name)
            .order_by(key_name)
        )
        if released_only:
            stmt = stmt.where(floor_condition())
        return [(name, count) for name, count in (await self.session.execute(stmt)).all()]

    async def live_listed(self, folder_key: str | None, *, released_only: bool = False) -> Sequence[File]:
        """Every live file in a folder and below (None: the whole vault), in name order (a card export)."""
        stmt = select(File).where(File.deleted_at.is_(None))
        if folder_key is not None:
            stmt = stmt.where(*_in_folder(folder_key, recursive=True))
        if released_only:
            stmt = stmt.where(floor_condition())
        return (await self.session.execute(stmt.order_by(File.sort_key, File.id))).scalars().all()

    async def live_for_update(self, folder_key: str | None) -> Sequence[File]:
        """Every live file in a folder and below (None: the whole vault), row-locked in id order (no deadlocks)."""
        stmt = select(File).where(File.deleted_at.is_(None))
        if folder_key is not None:
            stmt = stmt.where(*_in_folder(folder_key, recursive=True))
        return (await self.session.execute(stmt.order_by(File.id).with_for_update())).scalars().all()


def sort_column(sort: SortKey, *, released: bool) -> Any:
    if sort == "name":
        return File.sort_key
    if released:
        return {"size": FileRevision.size, "updated": FileRevision.released_at}[sort]
    return {"size": File.size, "updated": File.updated_at}[sort]


@cache
def _file_rows() -> AnySelect:
    """A file with its live lock and the holder's, creator's, updater's and deleter's names, its current
    revision, and its open review with who approved it so far.

    Built once and reused: statements are immutable (`.where()` returns a copy), and building this one costs
    more than running it, since each `aliased(User)` copies the users table's columns (make bench: ~1.5 ms).
    """
    return file_rows_with(live_lock_of_file())


@cache
def _row_parts() -> tuple[Any, Any, Any, Any, Any]:
    """The four user aliases and the approvers' subquery of a file row, made once: aliasing copies the users
    table's columns, which cost more than the rest of building the statement (a listing page builds one)."""
    holder, creator, updater, deleter = (aliased(User) for _ in range(4))
    approvers = (
        select(func.array_agg(aggregate_order_by(ReviewApproval.user_name, ReviewApproval.id)))
        .where(ReviewApproval.review_id == Review.id)
        .scalar_subquery()
    )
    return holder, creator, updater, deleter, approvers


def file_rows_with(lock_join: ColumnElement[bool], *extra: Any, start: Subquery | None = None) -> AnySelect:
    """`_file_rows` with the lock joined on `lock_join`, and `extra` columns right after the Lock (check-outs
    read the lock row live or not, and whether it is live: app/repositories/locks.py); from `start` (a subquery
    with an `id` column: a listing's page) when given, which is then the first relation of the join, so the
    written order (app/core/db.py SERVER_SETTINGS) starts from its few rows."""
    holder, creator, updater, deleter, approvers = _row_parts()
    stmt = select(
        File,
        Lock,
        *extra,
        holder.username,
        creator.username,
        updater.username,
        deleter.username,
        FileRevision,
        Review,
        approvers,
    )
    if start is not None:
        stmt = stmt.select_from(start).join(File, File.id == start.c.id)
    return (
        stmt.outerjoin(Lock, lock_join)
        .outerjoin(holder, holder.id == Lock.user_id)
        .outerjoin(creator, creator.id == File.created_by)
        .outerjoin(updater, updater.id == File.updated_by)
        .outerjoin(deleter, deleter.id == File.deleted_by)
        .outerjoin(FileRevision, FileRevision.id == File.revision_id)
        .outerjoin(Review, and_(Review.file_id == File.id, Review.status == ReviewStatus.open.value))
    )


# A live file inside any of the keys as a folder: per key, sort keys between the key's folder bounds (an index range
# scan), and the path itself under `<key>/` (the exact rule; LIKE wildcards in the key escaped).
_INSIDE_ANY = text(
    "SELECT f.* FROM unnest(CAST(:keys AS text[]), CAST(:lows AS text[]), CAST(:highs AS text[])) AS t(k, low, high) "
    "CROSS JOIN LATERAL (SELECT files.* FROM files WHERE files.deleted_at IS NULL "
    "AND files.sort_key > t.low AND files.sort_key < t.high AND files.path_key LIKE "
    "replace(replace(replace(t.k, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '/%' LIMIT 1) AS f LIMIT 1"
)


def _in_folder(folder_key: str, *, recursive: bool) -> list[ColumnElement[bool]]:
    """Files inside a folder (given as a path key, "" for the top), directly or at any depth."""
    prefix = folder_key + "/" if folder_key else ""
    conditions: list[ColumnElement[bool]] = []
    if prefix:
        conditions.append(File.path_key.startswith(prefix, autoescape=True))
    if not recursive:
        # Nothing after the folder's own '/' may be another '/'.
        conditions.append(func.strpos(func.substr(File.path_key, len(prefix) + 1), "/") == 0)
    return conditions


class VersionRepository(Repository[FileVersion]):
    model = FileVersion

    async def get(self, file_id: int, version: int) -> FileVersion | None:  # type: ignore[override]
        stmt = select(FileVersion).where(FileVersion.file_id == file_id, FileVersion.version == version)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_commit(self, file_id: int, commit_prefix: str) -> FileVersion | None:
        """The version of this file made by the commit (a prefix of 7+ hex digits); None if none or ambiguous."""
        stmt = (
            select(FileVersion)
            .where(FileVersion.file_id == file_id, FileVersion.commit_sha.startswith(commit_prefix))
            .order_by(FileVersion.version.desc())
            .limit(2)
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        return rows[0] if len(rows) == 1 else None

    async def page(
        self, file_id: int, *, before: int | None, limit: int, released_only: bool = False
    ) -> Sequence[tuple[FileVersion, str | None]]:
        """Versions newest first, each with the revision label it was released as (if it was); `released_only`:
        only those."""
        released = and_(FileRevision.file_id == FileVersion.file_id, FileRevision.version == FileVersion.version)
        stmt = select(FileVersion, FileRevision.label).where(FileVersion.file_id == file_id)
        stmt = stmt.join(FileRevision, released) if released_only else stmt.outerjoin(FileRevision, released)
        if before is not None:
            stmt = stmt.where(FileVersion.version < before)
        stmt = stmt.order_by(FileVersion.version.desc()).limit(limit)
        return [(v, label) for v, label in (await self.session.execute(stmt)).all()]

    async def up_to(self, file_id: int, version: int) -> Sequence[FileVersion]:
        """Versions 1 to `version` of a file, oldest first."""
        stmt = (
            select(FileVersion)
            .where(FileVersion.file_id == file_id, FileVersion.version <= version)
            .order_by(FileVersion.version)
        )
        return (await self.session.execute(stmt)).scalars().all()


async def find_by_origin(session: Any, path: str, first_commit: str) -> File | None:
    """The catalog file whose version 1 was made by this commit at this path (wherever the file is now)."""
    stmt = (
        select(File)
        .join(FileVersion, FileVersion.file_id == File.id)
        .where(FileVersion.path == path, FileVersion.version == 1, FileVersion.commit_sha == first_commit)
    )
    return (await session.execute(stmt)).scalar_one_or_none()  # type: ignore[no-any-return]


async def version_commits(session: Any, file_id: int) -> dict[str, int]:
    """The commit of each of a file's versions, with its number."""
    stmt = select(FileVersion.commit_sha, FileVersion.version).where(FileVersion.file_id == file_id)
    return {sha: number for sha, number in (await session.execute(stmt)).all()}


async def versions_made_by(session: Any, commit_sha: str) -> list[tuple[File, FileVersion]]:
    """Every file version a main-branch commit made (an upload of several files makes several)."""
    stmt = select(File, FileVersion).join(FileVersion, FileVersion.file_id == File.id)
    rows = await session.execute(stmt.where(FileVersion.commit_sha == commit_sha))
    return [(f, v) for f, v in rows.all()]


async def every_file(session: Any) -> Sequence[File]:
    """Every file row, deleted ones too, in id order (reindex)."""
    return (await session.execute(select(File).order_by(File.id))).scalars().all()  # type: ignore[no-any-return]
