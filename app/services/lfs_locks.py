"""The Git LFS File Locking API over camvault's own locks.

A `git lfs lock` is a check-out and a `git lfs unlock` a release (or, with --force, an admin's force-release),
through LockService, so expiry, cooldown, roles, audit and events are the same as in the web UI. A lock's id
is its file's id: the locks table holds at most one lock per file, keyed by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, LockHeld, NotFound
from app.models import File, Lock, User
from app.repositories.files import FileRepository
from app.repositories.locks import LockRepository
from app.schemas.common import INT32_MAX
from app.schemas.lfs import LfsLock, LfsOwner, LfsVerifyOut
from app.services import roles
from app.services.cursors import decode_cursor, encode_cursor
from app.services.locks import LockService
from app.services.paths import path_key
from app.services.visibility import view_of
from app.vault.pipeline import Vault

LOCK_MESSAGE = "git lfs lock"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class LfsLockExists(Conflict):
    """409 with the lock that is in the way, as the LFS API asks."""

    def __init__(self, lock: LfsLock | None, message: str) -> None:
        super().__init__({"message": message, "lock": lock.model_dump(mode="json") if lock else None})


def lfs_lock(file_id: int, path: str, since: datetime, holder: str) -> LfsLock:
    return LfsLock(id=str(file_id), path=path, locked_at=since, owner=LfsOwner(name=holder))


class LfsLockService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.files = FileRepository(session)
        self.locks = LockRepository(session)
        self.lock_service = LockService(session, settings, vault)

    async def _file_at(self, path: str) -> File:
        file = await self.files.get_live_by_key(path_key(path))
        if file is None:
            raise NotFound(f"{path!r} is not a file in the vault")
        return file

    async def create(self, path: str, user: User) -> LfsLock:
        file = await self._file_at(path)
        try:
            out = await self.lock_service.check_out(file.id, user, LOCK_MESSAGE)
        except LockHeld as exc:
            rows = await self.locks.live_page(after_file_id=None, limit=1, file_id=file.id)
            lock = lfs_lock(file.id, file.path, rows[0][0].acquired_at, rows[0][2]) if rows else None
            raise LfsLockExists(lock, exc.detail["message"]) from None
        return lfs_lock(file.id, file.path, out.lock.since, user.username)

    async def _page(
        self,
        cursor: str | None,
        limit: int | None,
        *,
        file_id: int | None = None,
        key: str | None = None,
        released_only: bool = False,
    ) -> tuple[Sequence[tuple[Lock, File, str]], str | None]:
        after = decode_cursor(cursor, int)[0] if cursor else None
        size = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
        rows = await self.locks.live_page(
            after_file_id=after, limit=size + 1, file_id=file_id, path_key=key, released_only=released_only
        )
        page = rows[:size]
        return page, encode_cursor(page[-1][1].id) if len(rows) > size else None

    async def list(
        self, user: User, *, path: str | None, lock_id: str | None, cursor: str | None, limit: int | None
    ) -> tuple[list[LfsLock], str | None]:
        """Live locks; the shop floor's view lists those of the files it sees only."""
        file_id = _file_id(lock_id) if lock_id else None
        if lock_id and file_id is None:
            return [], None  # no lock can have that id
        rows, next_cursor = await self._page(
            cursor,
            limit,
            file_id=file_id,
            key=path_key(path) if path is not None else None,
            released_only=view_of(user, self.settings).floor,
        )
        return [lfs_lock(f.id, f.path, lock.acquired_at, name) for lock, f, name in rows], next_cursor

    async def verify(self, user: User, *, cursor: str | None, limit: int | None) -> LfsVerifyOut:
        rows, next_cursor = await self._page(cursor, limit)
        ours = [lfs_lock(f.id, f.path, lock.acquired_at, name) for lock, f, name in rows if lock.user_id == user.id]
        theirs = [lfs_lock(f.id, f.path, lock.acquired_at, name) for lock, f, name in rows if lock.user_id != user.id]
        return LfsVerifyOut(ours=ours, theirs=theirs, next_cursor=next_cursor)

    async def unlock(self, lock_id: str, user: User, *, force: bool) -> LfsLock:
        file_id = _file_id(lock_id)
        rows = await self.locks.live_page(after_file_id=None, limit=1, file_id=file_id) if file_id else []
        if not rows:
            raise NotFound(f"Lock {lock_id} not found")
        lock, file, holder = rows[0]
        if lock.user_id == user.id:
            out = await self.lock_service.release(file.id, user)
        elif not force:
            raise Forbidden(f"{file.path!r} is locked by {holder}; only they can unlock it (an admin can use --force)")
        else:
            roles.require(user, roles.ADMINS, "Only an admin can force-unlock someone else's lock")
            out = await self.lock_service.force_release(file.id, user)
        return lfs_lock(out.lock.file_id, out.lock.path, out.lock.since, out.lock.holder)


def _file_id(lock_id: str) -> int | None:
    if lock_id.isascii() and lock_id.isdigit() and 1 <= int(lock_id) <= INT32_MAX:
        return int(lock_id)
    return None
