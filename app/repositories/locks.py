from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, Interval, and_, any_, bindparam, cast, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import aliased

from app.models import File, FileRevision, Lock, LockHistory, Review, User
from app.repositories.base import Repository
from app.repositories.files import (
    AnySelect,
    FileRow,
    file_rows_with,
    floor_condition,
    live_lock_condition,
    live_lock_of_file,
)

# Advisory-lock class for the check-out gate, in the two-integer key space (apart from the one-bigint keys of
# paths, the sweeper and migrations): (CHECK_OUT_GATE, file id) is held by the one check-out deciding that file.
CHECK_OUT_GATE = 0x63616D03


@dataclass(frozen=True)
class LockedFile:
    """A file row locked FOR UPDATE, with its lock row (live or expired) and the names an answer shows."""

    file: File
    lock: Lock | None  # the row in `locks`, live or expired
    live: bool  # the lock counts at this transaction's instant
    holder: str | None
    created_by: str | None
    updated_by: str | None
    deleted_by: str | None
    revision: FileRevision | None
    review: Review | None
    approved_by: list[str] | None

    @property
    def live_lock(self) -> Lock | None:
        return self.lock if self.live else None

    def answer(self, lock: Lock | None, holder: str | None, *, updated_by: str | None = None) -> FileRow:
        """The file as this transaction leaves it, with `lock` (held by `holder`) or none."""
        return FileRow(
            self.file,
            lock,
            holder,
            self.created_by,
            updated_by or self.updated_by,
            self.deleted_by,
            self.revision,
            self.review,
            self.approved_by,
        )


@dataclass(frozen=True)
class HeldLock:
    """The live lock on a file as committed now, read without waiting for anything (a check-out's loser)."""

    exists: bool  # the file is there and not deleted
    lock: Lock | None
    holder: str | None


@cache
def _locked_file_rows() -> AnySelect:
    """A file with its lock row (live or not), whether that lock is live, and what the listing's row has."""
    live = and_(Lock.file_id.is_not(None), live_lock_condition())
    return file_rows_with(Lock.file_id == File.id, live.label("live"))


def _expiry(ttl_seconds: int) -> Any:
    """Expiry computed by the database clock, so every worker agrees; 0 means the lock never expires."""
    return func.now() + timedelta(seconds=ttl_seconds) if ttl_seconds > 0 else None


# The statements of a check-out and a check-in, built once with named parameters. SQLAlchemy keys its cache of
# compiled SQL on a statement's structure and remembers that key on the statement object: a statement made anew
# for each call walks its whole structure again (the file row's eight joins) on every execution, which was about
# a tenth of a lock request's CPU (bench/README.md, "What guided issue 20"). The SQL sent is the same.


@cache
def _for_change() -> AnySelect:
    return _locked_file_rows().where(File.id == bindparam("p_file")).with_for_update(of=File)


@cache
def _for_check_out() -> AnySelect:
    gate = func.pg_try_advisory_xact_lock(literal(CHECK_OUT_GATE), bindparam("p_file", type_=Integer))
    return _locked_file_rows().where(File.id == bindparam("p_file"), gate).with_for_update(of=File)


@cache
def _held_now() -> AnySelect:
    holder = aliased(User)
    return (
        select(File.deleted_at, Lock, holder.username)
        .outerjoin(Lock, live_lock_of_file())
        .outerjoin(holder, holder.id == Lock.user_id)
        .where(File.id == bindparam("p_file"))
    )


@cache
def _acquire(expires: bool) -> Any:
    """The upsert that takes the lock (or an expired one) and the history row it opens, in one statement."""
    stmt = insert(Lock).values(
        file_id=bindparam("p_file"),
        user_id=bindparam("p_user"),
        message=bindparam("p_message"),
        acquired_at=func.now(),
        expires_at=func.now() + bindparam("p_ttl", type_=Interval()) if expires else None,
    )
    taken = (
        stmt.on_conflict_do_update(
            index_elements=[Lock.file_id],
            set_={
                "user_id": stmt.excluded.user_id,
                "message": stmt.excluded.message,
                "acquired_at": stmt.excluded.acquired_at,
                "expires_at": stmt.excluded.expires_at,
            },
            where=Lock.expires_at.is_not(None) & (Lock.expires_at <= func.now()),
        )
        .returning(Lock.file_id, Lock.user_id, Lock.message, Lock.acquired_at, Lock.expires_at)
        .cte("taken")
    )
    opened = (
        insert(LockHistory)
        .from_select(
            ["file_id", "user_id", "message", "acquired_at"],
            select(taken.c.file_id, taken.c.user_id, taken.c.message, taken.c.acquired_at),
        )
        .cte("opened")
    )
    return select(taken).add_cte(opened)


@cache
def _end() -> Any:
    """Delete the file's lock and close its open history row, in one statement."""
    deleted = delete(Lock).where(Lock.file_id == bindparam("p_file")).returning(Lock.file_id).cte("deleted")
    closed = (
        update(LockHistory)
        .where(LockHistory.file_id == bindparam("p_file"), LockHistory.ended_at.is_(None))
        .values(ended_at=func.now(), end_reason=bindparam("p_reason"), ended_by=bindparam("p_by"))
    )
    return closed.add_cte(deleted)


class LockRepository(Repository[Lock]):
    model = Lock

    async def close_history(self, file_id: int, reason: str, by: int | None) -> None:
        """End the file's open check-out: released, checked_in, expired, forced or deleted (by whom)."""
        await self.session.execute(
            update(LockHistory)
            .where(LockHistory.file_id == file_id, LockHistory.ended_at.is_(None))
            .values(ended_at=func.now(), end_reason=reason, ended_by=by)
        )

    async def last_held(self, file_id: int, user_id: int) -> tuple[LockHistory, str | None] | None:
        """The user's latest check-out of the file, with the name of who ended it (if someone did)."""
        ender = select(User.username).where(User.id == LockHistory.ended_by).scalar_subquery()
        stmt = (
            select(LockHistory, ender)
            .where(LockHistory.file_id == file_id, LockHistory.user_id == user_id)
            .order_by(LockHistory.id.desc())
            .limit(1)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def for_change(self, file_id: int) -> LockedFile | None:
        """The file row FOR UPDATE (every change of a file's lock holds it), with its lock and names; one statement.

        None when there is no such file (deleted or not: the caller decides).
        """
        found = (await self.session.execute(_for_change(), {"p_file": file_id})).first()
        return LockedFile(*found) if found else None

    async def for_check_out(self, file_id: int) -> LockedFile | None:
        """As `for_change`, but only for the one check-out of this file that is deciding now: None at once
        (without waiting for any row) while another check-out holds the file's gate, or when the file is gone.

        The gate is a transaction-scoped advisory lock tried in the same statement, before the row lock is
        asked for, so racing check-outs never queue on the file row; the lock row's upsert still decides.
        """
        found = (await self.session.execute(_for_check_out(), {"p_file": file_id})).first()
        return LockedFile(*found) if found else None

    async def held_now(self, file_id: int) -> HeldLock:
        """The file's live lock and holder as committed now, read without taking or waiting for any lock."""
        found = (await self.session.execute(_held_now(), {"p_file": file_id})).first()
        if found is None or found[0] is not None:
            return HeldLock(False, None, None)
        return HeldLock(True, found[1], found[2])

    async def acquire(self, file_id: int, user_id: int, message: str, ttl_seconds: int) -> Lock | None:
        """Take the lock and open its history row in one statement: insert it, or take over an expired one;
        None when it is held.

        Two racing callers both reach ON CONFLICT; PostgreSQL evaluates the WHERE on the latest committed row
        for each in turn, so at most one of them gets a row back. The returned Lock is a plain object made from
        the row written (not the session's copy of the row, which may be the old holder's).
        """
        params: dict[str, Any] = {"p_file": file_id, "p_user": user_id, "p_message": message}
        if ttl_seconds > 0:
            params["p_ttl"] = timedelta(seconds=ttl_seconds)
        row = (await self.session.execute(_acquire(ttl_seconds > 0), params)).first()
        if row is None:
            return None
        return Lock(
            file_id=row.file_id,
            user_id=row.user_id,
            message=row.message,
            acquired_at=row.acquired_at,
            expires_at=row.expires_at,
        )

    async def end(self, file_id: int, reason: str, by: int | None) -> None:
        """Delete the file's lock and close its open history row, in one statement."""
        await self.session.execute(_end(), {"p_file": file_id, "p_reason": reason, "p_by": by})

    async def live_with_holder(self, file_id: int) -> tuple[Lock, str] | None:
        """The file's live lock and its holder's name, in one statement."""
        stmt = (
            select(Lock, User.username)
            .join(User, User.id == Lock.user_id)
            .where(Lock.file_id == file_id, live_lock_condition())
        )
        found = (await self.session.execute(stmt)).first()
        return (found[0], found[1]) if found else None

    async def delete(self, file_id: int) -> None:
        await self.session.execute(delete(Lock).where(Lock.file_id == file_id))

    async def extend(self, file_id: int, user_id: int, ttl_seconds: int) -> Lock | None:
        stmt = (
            update(Lock)
            .where(Lock.file_id == file_id, Lock.user_id == user_id, live_lock_condition())
            .values(expires_at=_expiry(ttl_seconds))
            .returning(Lock)
        )
        result = await self.session.execute(stmt.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def live_with_files(
        self, holder: str | None = None, *, released_only: bool = False
    ) -> Sequence[tuple[Lock, File, str]]:
        stmt = (
            select(Lock, File, User.username)
            .join(File, File.id == Lock.file_id)
            .join(User, User.id == Lock.user_id)
            .where(live_lock_condition(), File.deleted_at.is_(None))
            .order_by(Lock.acquired_at, Lock.file_id)
        )
        if holder:
            stmt = stmt.where(func.lower(User.username) == holder.lower())
        if released_only:
            stmt = stmt.where(floor_condition())
        return [(lock, f, name) for lock, f, name in (await self.session.execute(stmt)).all()]

    async def held_by_others(self, file_ids: Sequence[int], user_id: int) -> Sequence[tuple[Lock, File, str]]:
        """Live locks on these files that someone other than `user_id` holds, with the file and the holder's name."""
        stmt = (
            select(Lock, File, User.username)
            .join(File, File.id == Lock.file_id)
            .join(User, User.id == Lock.user_id)
            # One array parameter, however many files a folder holds (a bind parameter each would run out).
            .where(Lock.file_id == any_(cast(list(file_ids), ARRAY(Integer))), Lock.user_id != user_id)
            .where(live_lock_condition())
            .order_by(File.path)
        )
        return [(lock, f, name) for lock, f, name in (await self.session.execute(stmt)).all()]

    async def held_by(self, user_id: int) -> Sequence[tuple[Lock, File]]:
        stmt = (
            select(Lock, File)
            .join(File, File.id == Lock.file_id)
            .where(Lock.user_id == user_id, live_lock_condition())
            .order_by(Lock.file_id)
            # The file rows too, as every change of a lock does (a check-in holds only its file's row).
            .with_for_update(of=[Lock, File])
        )
        return [(lock, f) for lock, f in (await self.session.execute(stmt)).all()]

    async def take_expired(self, limit: int) -> Sequence[tuple[Lock, File]]:
        """Expired locks, row-locked and skipped if another transaction is on them already."""
        stmt = (
            select(Lock, File)
            .join(File, File.id == Lock.file_id)
            .where(Lock.expires_at.is_not(None), Lock.expires_at <= func.now())
            .order_by(Lock.expires_at)
            .limit(limit)
            # The file row too: a check-out taking over this expired lock holds it, and we skip it.
            .with_for_update(of=[Lock, File], skip_locked=True)
        )
        return [(lock, f) for lock, f in (await self.session.execute(stmt)).all()]

    async def try_cluster_lock(self, key: int) -> bool:
        """A transaction-scoped advisory lock: True for exactly one caller in the cluster at a time."""
        return bool((await self.session.execute(select(func.pg_try_advisory_xact_lock(key)))).scalar_one())

    async def live_page(
        self,
        *,
        after_file_id: int | None,
        limit: int,
        file_id: int | None = None,
        path_key: str | None = None,
        released_only: bool = False,
    ) -> Sequence[tuple[Lock, File, str]]:
        """Live locks on live files in file-id order (a stable keyset for paging), optionally one file's."""
        stmt = (
            select(Lock, File, User.username)
            .join(File, File.id == Lock.file_id)
            .join(User, User.id == Lock.user_id)
            .where(live_lock_condition(), File.deleted_at.is_(None))
            .order_by(Lock.file_id)
            .limit(limit)
        )
        if after_file_id is not None:
            stmt = stmt.where(Lock.file_id > after_file_id)
        if file_id is not None:
            stmt = stmt.where(Lock.file_id == file_id)
        if path_key is not None:
            stmt = stmt.where(File.path_key == path_key)
        if released_only:
            stmt = stmt.where(floor_condition())
        return [(lock, f, name) for lock, f, name in (await self.session.execute(stmt)).all()]
