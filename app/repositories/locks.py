from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, any_, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert

from app.models import File, Lock, LockHistory, User
from app.repositories.base import Repository
from app.repositories.files import floor_condition, live_lock_condition


def _expiry(ttl_seconds: int) -> Any:
    """Expiry computed by the database clock, so every worker agrees; 0 means the lock never expires."""
    return func.now() + timedelta(seconds=ttl_seconds) if ttl_seconds > 0 else None


class LockRepository(Repository[Lock]):
    model = Lock

    async def open_history(self, lock: Lock) -> None:
        """Start the history row of a check-out just taken."""
        self.session.add(
            LockHistory(file_id=lock.file_id, user_id=lock.user_id, message=lock.message, acquired_at=lock.acquired_at)
        )
        await self.session.flush()

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

    async def acquire(self, file_id: int, user_id: int, message: str, ttl_seconds: int) -> Lock | None:
        """Take the lock in one statement: insert it, or take over an expired one; None when it is held.

        Two racing callers both reach ON CONFLICT; PostgreSQL evaluates the WHERE on the
        latest committed row for each in turn, so at most one of them gets a row back.
        """
        stmt = insert(Lock).values(
            file_id=file_id,
            user_id=user_id,
            message=message,
            acquired_at=func.now(),
            expires_at=_expiry(ttl_seconds),
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[Lock.file_id],
            set_={
                "user_id": stmt.excluded.user_id,
                "message": stmt.excluded.message,
                "acquired_at": stmt.excluded.acquired_at,
                "expires_at": stmt.excluded.expires_at,
            },
            where=Lock.expires_at.is_not(None) & (Lock.expires_at <= func.now()),
        ).returning(Lock)
        result = await self.session.execute(upsert.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def get_live(self, file_id: int, *, for_update: bool = False) -> Lock | None:
        stmt = select(Lock).where(Lock.file_id == file_id, live_lock_condition())
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_any(self, file_id: int, *, for_update: bool = False) -> Lock | None:
        """The lock row, live or expired (an expired row may linger until the sweeper runs)."""
        stmt = select(Lock).where(Lock.file_id == file_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

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
            .with_for_update(of=Lock)
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
