"""Check-out, check-in, renew, release, force-release, expiry sweeping.

Every action is one vault write (app/vault/pipeline.py): its rules are decided inside the write
transaction, at one instant (the transaction's `now()`: a lock counts only if it is live then), and its
answer is built from the rows that transaction wrote. The winner of a check-out is decided by one
INSERT .. ON CONFLICT statement (LockRepository.acquire). Who held a file and how it ended is the
`lock_history` table, which the lost-lock rule reads.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import Conflict, Cooldown, DomainError, LockHeld, NotFound, UnsupportedType
from app.journal.vault import (
    CheckedIn,
    FileLocked,
    LockExpired,
    LockForceReleased,
    LockReleased,
    LockRenewed,
    VersionAdded,
)
from app.models import File, Lock, User
from app.repositories.files import FileRepository
from app.repositories.locks import LockedFile, LockRepository
from app.repositories.users import UserRepository
from app.schemas.lock import CheckInOut, CheckOutOut, LockChangeOut, LockOut, ReleasedLocks
from app.services.answers import file_out, lock_out
from app.services.cards import CardService
from app.services.files import IncomingFile, empty_file_notice, note_facts_pending
from app.services.lifecycle import LifecycleService
from app.services.paths import check_extension, extension_of
from app.services.visibility import view_of
from app.storage.git_store import TreeChange
from app.vault.pipeline import Vault, VaultWrite, commit_message

logger = logging.getLogger(__name__)

SWEEPER_LOCK = 0x63616D0002  # advisory-lock key: one sweeper per cluster
SWEEP_BATCH = 200
# A check-out's 409 when another check-out of the same file is being decided at this moment: its transaction has
# not committed, so who will hold the file is not known yet (the file_locked event says so the moment it is).
IN_FLIGHT = "Someone else is checking this file out right now; try again in a moment"


class LockService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.files = FileRepository(session)
        self.locks = LockRepository(session)
        self.users = UserRepository(session)
        self.lifecycle = LifecycleService(session, settings, vault)

    async def _file(self, file_id: int) -> LockedFile:
        """The live file, row-locked, with its lock: every change of a file's lock holds this row lock, so the
        lock (and the cooldown a concurrent check-in wrote) read here stay as read until the transaction ends."""
        found = await self.locks.for_change(file_id)
        if found is None or found.file.deleted_at is not None:
            raise NotFound(f"File {file_id} not found")
        return found

    async def _name(self, user_id: int) -> str:
        user = await self.users.get(user_id)
        return user.username if user else "?"

    async def check_out(self, file_id: int, user: User, message: str) -> CheckOutOut:
        async with self.vault.write() as w:
            found = await self.locks.for_check_out(file_id)
            if found is None:
                # Another check-out of this file is deciding right now (or there is no such file): answer from
                # what is committed, without waiting for that transaction.
                raise await self._lost(file_id)
            file = found.file
            if file.deleted_at is not None:
                raise NotFound(f"File {file_id} not found")
            # In review or obsolete: 409. Decided on the locked row, so a submit racing this has one winner.
            await self.lifecycle.refuse_check_out(file)
            held = found.live_lock
            if held is not None:
                raise LockHeld(found.holder or "?", held.acquired_at, held.expires_at)
            now = datetime.now(UTC)
            if file.cooldown_until and file.cooldown_until > now and file.cooldown_user_id != user.id:
                editor = await self.users.get(file.cooldown_user_id) if file.cooldown_user_id else None
                raise Cooldown(
                    math.ceil((file.cooldown_until - now).total_seconds()), editor.username if editor else "?"
                )
            if found.lock is not None:
                # We take over a lock that expired before the sweeper got to it.
                await self.locks.close_history(file.id, "expired", None)
                await self._expire(w, file, found.lock.user_id, found.holder or "?", found.lock.expires_at)
            lock = await self.locks.acquire(file.id, user.id, message, self.settings.lock_ttl_seconds)
            if lock is None:
                # The statement above read the file through a snapshot taken before the check-out that held the gate
                # committed its lock, and got the gate just after (a row lock that was only locked, not updated, is
                # not read again): the upsert saw that lock. Answer as a loser from what is committed now.
                raise await self._lost(file.id)
            await w.journal(_locked(FileLocked, file, lock, user), actor=user)
            out = file_out(found.answer(lock, user.username))
        assert out.lock is not None  # this transaction just took it
        return CheckOutOut(file=out, lock=out.lock, head_version=out.version)

    async def _lost(self, file_id: int) -> DomainError:
        """Why a check-out that found the file's gate taken did not get the lock, from what is committed now."""
        held = await self.locks.held_now(file_id)
        if not held.exists:
            return NotFound(f"File {file_id} not found")
        if held.lock is not None:
            return LockHeld(held.holder or "?", held.lock.acquired_at, held.lock.expires_at)
        return Conflict(IN_FLIGHT)

    async def _own_live_lock(self, found: LockedFile, user: User) -> Lock:
        """The caller's live lock on the file (live at this transaction's instant), or the reason there is none.

        409 when nobody holds it, or when the caller's own check-out was taken away (it expired, or an
        admin force-released it) even if someone else holds the file now: the caller is in conflict with
        what happened, not poking at a stranger's lock. 403 when someone else holds it and the caller's
        last check-out ended normally (or never was).
        """
        file, lock = found.file, found.live_lock
        if lock is not None and lock.user_id == user.id:
            return lock
        last = await self.locks.last_held(file.id, user.id)
        if last is not None:
            held, ender = last
            if held.end_reason in ("expired", "forced") or held.ended_at is None:
                if held.end_reason == "forced":
                    how = f"was force-released by {ender or '?'} at {_when(held.ended_at)}"
                elif held.ended_at is not None:
                    how = f"expired at {_when(held.ended_at)}"
                else:
                    how = "expired"  # ran out; nobody has swept or taken it yet
                now_held = f"; {found.holder or '?'} has it checked out now" if lock is not None else ""
                raise Conflict(
                    f"Your check-out of {file.path!r} {how}{now_held}. "
                    "Nothing was saved: check the file out again to continue."
                )
        if lock is None:
            raise Conflict(f"{file.path!r} is not checked out")
        raise LockHeld(found.holder or "?", lock.acquired_at, lock.expires_at, status_code=403)

    async def check_in(
        self,
        file_id: int,
        user: User,
        *,
        content: IncomingFile | None,
        message: str,
        keep_locked: bool,
        base_version: int | None,
        card: Mapping[str, str] | None = None,
    ) -> CheckInOut:
        if content is not None:
            check_extension(content.filename, self.settings.allowed_extensions)
        # The content's blob is written (and hashed, once) before the transaction and the file's row lock.
        blob, facts = None, None
        if content is not None:
            # The path's extension is the file's (a check-in keeps the type; refused below if not).
            blobs, staged_facts = await self.vault.stage_with_facts([content.filename], [content.source])
            blob, facts = blobs[0], staged_facts.get(content.filename)
        async with self.vault.write() as w:
            found = await self._file(file_id)
            file = found.file
            await self._own_live_lock(found, user)
            if content is not None:
                _same_type(content.filename, file.path)
            new_version = False
            note = "Released without changes"
            if blob is not None:
                if base_version is not None and base_version != file.version:
                    raise Conflict(
                        f"{file.path!r} is at version {file.version}; your copy was edited from version "
                        f"{base_version}. Download the latest version and merge your changes."
                    )
                if blob.sha == file.blob_sha:
                    note = "Content is identical to the latest version; no new version was made"
                else:
                    summary = f"Check in {file.path} (version {file.version + 1})"
                    commit = await w.commit(
                        [TreeChange(file.path, blob)],
                        author=user,
                        message=commit_message(summary, "checkin", user, message),
                    )
                    version = await w.add_version(file, commit, author=user, message=message, facts=facts)
                    self.lifecycle.after_new_version(file)
                    added = VersionAdded(
                        file_id=file.id,
                        path=file.path,
                        user=user.username,
                        version=version.version,
                        size=version.size,
                        commit=commit.commit_sha,
                    )
                    await w.journal(added, actor=user)
                    new_version = True
                    note = f"Checked in as version {file.version}"
            kept = None
            if keep_locked:
                kept = await self.locks.extend(file.id, user.id, self.settings.lock_ttl_seconds)
            else:
                await self.locks.end(file.id, "checked_in", user.id)
            entry = CheckedIn(
                file_id=file.id,
                path=file.path,
                user=user.username,
                version=file.version,
                new_version=new_version,
                kept_lock=keep_locked,
                message=message,
            )
            await w.journal(entry, actor=user)
            if card:
                await CardService(self.session, self.settings, self.vault).apply(w, file, user, card, via="checkin")
            updater = user.username if new_version else None
            out = file_out(found.answer(kept, user.username if kept else None, updated_by=updater))
            if new_version:
                out.facts = facts
                note_facts_pending(out, out.path, out.size, out.updated_at, self.settings)
        warnings = [empty_file_notice(content.filename)] if content is not None and content.size == 0 else []
        return CheckInOut(
            file=out,
            new_version=new_version,
            head_version=out.version,
            kept_lock=keep_locked,
            message=note,
            warnings=warnings,
        )

    async def renew(self, file_id: int, user: User) -> LockChangeOut:
        async with self.vault.write() as w:
            found = await self._file(file_id)
            file = found.file
            await self._own_live_lock(found, user)
            lock = await self.locks.extend(file.id, user.id, self.settings.lock_ttl_seconds)
            assert lock is not None  # live and ours a statement ago, and the file row is locked
            await w.journal(_locked(LockRenewed, file, lock, user), actor=user)
            out = LockChangeOut(
                file=file_out(found.answer(lock, user.username)), lock=lock_out(lock, file, user.username)
            )
        return out

    async def release(self, file_id: int, user: User) -> LockChangeOut:
        """Undo check-out: the holder gives the lock back without a new version."""
        async with self.vault.write() as w:
            found = await self._file(file_id)
            file = found.file
            lock = await self._own_live_lock(found, user)
            released = lock_out(lock, file, user.username)
            await self.locks.end(file.id, "released", user.id)
            entry = LockReleased(file_id=file.id, path=file.path, user=user.username, version=file.version)
            await w.journal(entry, actor=user)
            out = LockChangeOut(file=file_out(found.answer(None, None)), lock=released)
        return out

    async def force_release(self, file_id: int, admin: User) -> LockChangeOut:
        async with self.vault.write() as w:
            found = await self._file(file_id)
            file, lock = found.file, found.live_lock
            if lock is None:
                raise Conflict(f"{file.path!r} is not checked out")
            released = lock_out(lock, file, found.holder or "?")
            await self._force(w, lock, file, admin, released.holder)
            out = LockChangeOut(file=file_out(found.answer(None, None)), lock=released)
        return out

    async def _force(self, w: VaultWrite, lock: Lock, file: File, admin: User, holder: str) -> None:
        await self.locks.end(file.id, "forced", admin.id)
        entry = LockForceReleased(
            file_id=file.id,
            path=file.path,
            holder=holder,
            holder_id=lock.user_id,
            by=admin.username,
            message=lock.message,
            since=lock.acquired_at,
            version=file.version,
        )
        await w.journal(entry, actor=admin)

    async def release_all_of(self, user_id: int, admin: User) -> ReleasedLocks:
        async with self.vault.write() as w:
            holder = await self.users.get(user_id)
            if holder is None:
                raise NotFound(f"User {user_id} not found")
            released = []
            for lock, file in await self.locks.held_by(holder.id):
                released.append(lock_out(lock, file, holder.username))
                await self._force(w, lock, file, admin, holder.username)
        return ReleasedLocks(released=released)

    async def list(self, holder: str | None, user: User) -> list[LockOut]:
        """Current locks; on the shop floor's view, those of files it sees only."""
        floor = view_of(user, self.settings).floor
        rows = await self.locks.live_with_files(holder, released_only=floor)
        return [lock_out(lock, file, name) for lock, file, name in rows]

    async def _expire(
        self, w: VaultWrite, file: File, holder_id: int, holder: str, expired_at: datetime | None
    ) -> None:
        """Journal a lock that ran out (the caller has ended its row and history)."""
        entry = LockExpired(
            file_id=file.id,
            path=file.path,
            holder=holder,
            holder_id=holder_id,
            expired_at=expired_at,
            version=file.version,
        )
        await w.journal(entry, actor=None)

    async def sweep(self) -> int:
        """Release expired locks; only one worker in the cluster sweeps at a time."""
        if not await self.locks.try_cluster_lock(SWEEPER_LOCK):
            await self.session.rollback()
            return 0
        async with self.vault.write() as w:
            expired = await self.locks.take_expired(SWEEP_BATCH)
            for lock, file in expired:
                await self.locks.end(file.id, "expired", None)
                await self._expire(w, file, lock.user_id, await self._name(lock.user_id), lock.expires_at)
        if expired:
            logger.info("sweeper released %d expired locks", len(expired))
        return len(expired)


def _locked(kind: type[FileLocked], file: File, lock: Lock, user: User) -> FileLocked:
    return kind(
        file_id=file.id,
        path=file.path,
        user=user.username,
        message=lock.message,
        since=lock.acquired_at,
        until=lock.expires_at,
        version=file.version,
    )


def _same_type(filename: str, path: str) -> None:
    """A new version keeps its file's type: checking a PDF in over `OP20.nc` is refused (415, naming both)."""
    given, expected = extension_of(filename), extension_of(path)
    if given != expected:
        raise UnsupportedType(
            f"{filename!r} is a {given or 'file without an extension'}, but {path!r} is a {expected} file: "
            f"a new version must have the same type (check in a {expected} file, or upload this one as a new file)"
        )


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else "?"
