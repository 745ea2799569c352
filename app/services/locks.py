"""Check-out, check-in, renew, release, force-release, expiry sweeping.

The winner of a check-out is decided by one INSERT .. ON CONFLICT statement (see
LockRepository.acquire). Check-in commits to Git first; the version row, the lock release,
the cooldown and the audit row then commit together, so a failed Git write leaves the lock
held and the catalog untouched.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import Conflict, Cooldown, LockHeld, NotFound
from app.models import File, FileVersion, Lock, User
from app.repositories.audit import AuditRepository
from app.repositories.files import FileRepository, VersionRepository
from app.repositories.locks import LockRepository
from app.repositories.users import UserRepository
from app.schemas.lock import CheckInOut, CheckOutOut, LockOut, ReleasedLocks
from app.services import audit, events
from app.services.files import FileService, IncomingFile, blob_sha_of, commit_message, commit_to_vault
from app.storage.git_store import Change, GitStore

logger = logging.getLogger(__name__)

# Audit actions of the lock life cycle; the lost-lock rule in _own_live_lock reads them back.
CHECKED_OUT = "lock.checkout"
CHECKED_IN = "lock.checkin"
RELEASED = "lock.released"
EXPIRED = "lock.expired"
FORCE_RELEASED = "lock.force_released"

SWEEPER_LOCK = 0x63616D0002  # advisory-lock key: one sweeper per cluster
SWEEP_BATCH = 200


def lock_out(lock: Lock, file: File, holder: str) -> LockOut:
    return LockOut(
        file_id=file.id,
        path=file.path,
        holder=holder,
        holder_id=lock.user_id,
        message=lock.message,
        since=lock.acquired_at,
        until=lock.expires_at,
    )


class LockService:
    def __init__(self, session: AsyncSession, settings: Settings, store: GitStore) -> None:
        self.session = session
        self.settings = settings
        self.store = store
        self.files = FileRepository(session)
        self.versions = VersionRepository(session)
        self.locks = LockRepository(session)
        self.users = UserRepository(session)
        self.audit = AuditRepository(session)
        self.file_service = FileService(session, settings, store)

    async def _live_file(self, file_id: int) -> File:
        # FOR UPDATE orders us after a concurrent check-in of this file (which sets the cooldown),
        # so the cooldown we read below is the one that check-in wrote.
        file = await self.files.get_for_update(file_id)
        if file is None or file.deleted_at is not None:
            raise NotFound(f"File {file_id} not found")
        return file

    async def _holder_error(self, lock: Lock, *, status_code: int = 409) -> LockHeld:
        holder = await self.users.get(lock.user_id)
        return LockHeld(holder.username if holder else "?", lock.acquired_at, lock.expires_at, status_code=status_code)

    async def check_out(self, file_id: int, user: User, message: str) -> CheckOutOut:
        file = await self._live_file(file_id)
        now = datetime.now(UTC)
        if file.cooldown_until and file.cooldown_until > now and file.cooldown_user_id != user.id:
            editor = await self.users.get(file.cooldown_user_id) if file.cooldown_user_id else None
            raise Cooldown(math.ceil((file.cooldown_until - now).total_seconds()), editor.username if editor else "?")
        previous = await self.locks.get_any(file.id)
        # Plain values: acquire() refreshes the same ORM object with the new holder's row.
        expired = (previous.user_id, previous.expires_at) if previous is not None else None
        lock = await self.locks.acquire(file.id, user.id, message, self.settings.lock_ttl_seconds)
        if lock is None:
            held = await self.locks.get_live(file.id)
            if held is None:  # released between the two statements: the caller may simply retry
                raise Conflict("The lock changed hands just now; try again")
            raise await self._holder_error(held)
        if expired is not None:
            # We took over a lock that had expired before the sweeper got to it.
            await self._record_expiry(*expired, file)
        await audit.record(
            self.session,
            CHECKED_OUT,
            actor=user,
            target=file.path,
            details={"file_id": file.id, "message": message, "until": lock.expires_at},
        )
        await events.publish(
            self.session,
            "file_locked",
            file_id=file.id,
            path=file.path,
            user=user.username,
            message=message,
            since=lock.acquired_at,
            until=lock.expires_at,
            version=file.version,
        )
        await self.session.commit()
        out = await self.file_service.get(file.id)
        assert out.lock is not None
        return CheckOutOut(file=out, lock=out.lock, head_version=out.version)

    async def _own_live_lock(self, file: File, user: User) -> Lock:
        """The caller's live lock on the file, or the reason there is none.

        409 when nobody holds it, or when the caller's own check-out was taken away (it expired, or an
        admin force-released it) even if someone else holds the file now: the caller is in conflict with
        what happened, not poking at a stranger's lock. 403 when someone else holds it and the caller's
        last check-out ended normally (or never was).
        """
        lock = await self.locks.get_live(file.id, for_update=True)
        if lock is not None and lock.user_id == user.id:
            return lock
        last = await self.audit.latest_lock_event(
            target=file.path,
            file_id=file.id,
            user_id=user.id,
            acted=(CHECKED_OUT, CHECKED_IN, RELEASED),
            suffered=(EXPIRED, FORCE_RELEASED),
        )
        if last is not None and last.action in (EXPIRED, FORCE_RELEASED):
            how = "expired" if last.action == EXPIRED else f"was force-released by {last.actor_name}"
            now_held = ""
            if lock is not None:
                holder = await self.users.get(lock.user_id)
                now_held = f"; {holder.username if holder else '?'} has it checked out now"
            raise Conflict(
                f"Your check-out of {file.path!r} {how} at {last.at.isoformat(timespec='seconds')}{now_held}. "
                "Nothing was saved: check the file out again to continue."
            )
        if lock is None:
            stale = await self.locks.get_any(file.id)
            expired = " (your check-out expired)" if stale is not None and stale.user_id == user.id else ""
            raise Conflict(f"{file.path!r} is not checked out{expired}")
        raise await self._holder_error(lock, status_code=403)

    async def check_in(
        self,
        file_id: int,
        user: User,
        *,
        content: IncomingFile | None,
        message: str,
        keep_locked: bool,
        base_version: int | None,
    ) -> CheckInOut:
        file = await self._live_file(file_id)
        await self._own_live_lock(file, user)
        new_version = False
        note = "Released without changes"
        if content is not None:
            if base_version is not None and base_version != file.version:
                raise Conflict(
                    f"{file.path!r} is at version {file.version}; your copy was edited from version {base_version}. "
                    "Download the latest version and merge your changes."
                )
            if await blob_sha_of(self.store, content.source) == file.blob_sha:
                note = "Content is identical to the latest version; no new version was made"
            else:
                await self._commit_version(file, user, content, message)
                new_version = True
                note = f"Checked in as version {file.version}"
        if keep_locked:
            await self.locks.extend(file.id, user.id, self.settings.lock_ttl_seconds)
        else:
            await self.locks.delete(file.id)
        await audit.record(
            self.session,
            CHECKED_IN,
            actor=user,
            target=file.path,
            details={
                "file_id": file.id,
                "new_version": new_version,
                "version": file.version,
                "kept_lock": keep_locked,
                "message": message,
            },
        )
        if not keep_locked:
            await events.publish(
                self.session,
                "file_unlocked",
                file_id=file.id,
                path=file.path,
                user=user.username,
                reason="checkin",
                version=file.version,
            )
        await self.session.commit()
        return CheckInOut(
            file=await self.file_service.get(file.id),
            new_version=new_version,
            head_version=file.version,
            kept_lock=keep_locked,
            message=note,
        )

    async def _commit_version(self, file: File, user: User, content: IncomingFile, message: str) -> None:
        number = file.version + 1
        result = await commit_to_vault(
            self.store,
            [Change(path=file.path, source=content.source)],
            author=user,
            message=commit_message(f"Check in {file.path} (version {number})", "checkin", user, message),
        )
        blob = result.blobs[file.path]
        now = result.committed_at
        await self.versions.add(
            FileVersion(
                file_id=file.id,
                version=number,
                commit_sha=result.commit_sha,
                blob_sha=blob.sha,
                size=blob.size,
                author_id=user.id,
                author_name=user.username,
                message=message,
                created_at=now,
            )
        )
        file.version, file.blob_sha, file.size, file.head_commit = number, blob.sha, blob.size, result.commit_sha
        file.updated_at, file.updated_by = now, user.id
        if self.settings.edit_cooldown_seconds > 0:
            # From the real clock, not the commit's whole second: the cooldown is never cut short.
            file.cooldown_until = datetime.now(UTC) + timedelta(seconds=self.settings.edit_cooldown_seconds)
            file.cooldown_user_id = user.id
        await audit.record(
            self.session,
            "file.version_added",
            actor=user,
            target=file.path,
            details={"file_id": file.id, "version": number, "size": blob.size, "commit": result.commit_sha},
        )
        await events.publish(
            self.session,
            "file_uploaded",
            file_id=file.id,
            path=file.path,
            user=user.username,
            version=number,
            size=blob.size,
            new_file=False,
        )

    async def renew(self, file_id: int, user: User) -> LockOut:
        file = await self._live_file(file_id)
        await self._own_live_lock(file, user)
        lock = await self.locks.extend(file.id, user.id, self.settings.lock_ttl_seconds)
        assert lock is not None
        await audit.record(
            self.session,
            "lock.renewed",
            actor=user,
            target=file.path,
            details={"file_id": file.id, "until": lock.expires_at},
        )
        await events.publish(
            self.session,
            "file_locked",
            file_id=file.id,
            path=file.path,
            user=user.username,
            message=lock.message,
            since=lock.acquired_at,
            until=lock.expires_at,
            version=file.version,
            renewed=True,
        )
        await self.session.commit()
        return lock_out(lock, file, user.username)

    async def release(self, file_id: int, user: User) -> LockOut:
        """Undo check-out: the holder gives the lock back without a new version."""
        file = await self._live_file(file_id)
        lock = await self._own_live_lock(file, user)
        out = lock_out(lock, file, user.username)
        await self.locks.delete(file.id)
        await audit.record(self.session, RELEASED, actor=user, target=file.path, details={"file_id": file.id})
        await events.publish(
            self.session,
            "file_unlocked",
            file_id=file.id,
            path=file.path,
            user=user.username,
            reason="released",
            version=file.version,
        )
        await self.session.commit()
        return out

    async def force_release(self, file_id: int, admin: User) -> LockOut:
        file = await self._live_file(file_id)
        lock = await self.locks.get_live(file.id, for_update=True)
        if lock is None:
            raise Conflict(f"{file.path!r} is not checked out")
        holder = await self.users.get(lock.user_id)
        out = lock_out(lock, file, holder.username if holder else "?")
        await self._force(lock, file, admin, out.holder)
        await self.session.commit()
        return out

    async def _force(self, lock: Lock, file: File, admin: User, holder: str) -> None:
        await self.locks.delete(file.id)
        await audit.record(
            self.session,
            FORCE_RELEASED,
            actor=admin,
            target=file.path,
            details={
                "file_id": file.id,
                "holder": holder,
                "holder_id": lock.user_id,
                "message": lock.message,
                "since": lock.acquired_at,
            },
        )
        await events.publish(
            self.session,
            "file_unlocked",
            file_id=file.id,
            path=file.path,
            user=holder,
            reason="force_released",
            by=admin.username,
            version=file.version,
        )

    async def release_all_of(self, user_id: int, admin: User) -> ReleasedLocks:
        holder = await self.users.get(user_id)
        if holder is None:
            raise NotFound(f"User {user_id} not found")
        released = []
        for lock, file in await self.locks.held_by(holder.id):
            released.append(lock_out(lock, file, holder.username))
            await self._force(lock, file, admin, holder.username)
        await self.session.commit()
        return ReleasedLocks(released=released)

    async def list(self, holder: str | None) -> list[LockOut]:
        rows = await self.locks.live_with_files(holder)
        return [lock_out(lock, file, name) for lock, file, name in rows]

    async def _record_expiry(self, holder_id: int, expired_at: datetime | None, file: File) -> None:
        holder = await self.users.get(holder_id)
        name = holder.username if holder else "?"
        await audit.record(
            self.session,
            EXPIRED,
            actor=None,
            actor_name="system",
            target=file.path,
            details={"file_id": file.id, "holder": name, "holder_id": holder_id, "expired_at": expired_at},
        )
        await events.publish(
            self.session, "lock_expired", file_id=file.id, path=file.path, user=name, version=file.version
        )

    async def sweep(self) -> int:
        """Release expired locks; only one worker in the cluster sweeps at a time."""
        if not await self.locks.try_cluster_lock(SWEEPER_LOCK):
            await self.session.rollback()
            return 0
        expired = await self.locks.take_expired(SWEEP_BATCH)
        for lock, file in expired:
            await self.locks.delete(file.id)
            await self._record_expiry(lock.user_id, lock.expires_at, file)
        await self.session.commit()
        if expired:
            logger.info("sweeper released %d expired locks", len(expired))
        return len(expired)
