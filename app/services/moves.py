"""Renaming and moving files and whole folders, keeping every file's id, versions, lock and history.

A move is one vault write (app/vault/pipeline.py): one commit that puts each file's blob at its new path and
removes the old one (`TreeChange(new, blob)` + `TreeChange(old, None)`), with trailers `Camvault-From` and
`Camvault-To` so `camvault reindex` recognises it; the files' rows get their new paths, and each file gets a
`file.moved` journal entry (a folder move adds one `folder.moved`). Refused while any of the files is checked
out by someone else (the mover's own check-outs move with the files), and with 409 when the new path is taken.
The web UI and the API (and later every other client) call these same methods.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import BadRequest, Conflict, DomainError, LockHeld, NotFound
from app.journal.vault import FileMoved, FolderMoved
from app.models import File, User
from app.repositories.files import FileRepository
from app.repositories.folders import FolderRepository
from app.repositories.locks import LockRepository
from app.schemas.file import FileOut, FolderMoveOut, FolderOut
from app.services.answers import file_out
from app.services.cards import CardService
from app.services.lifecycle import LifecycleService
from app.services.paths import (
    is_inside,
    moved_path,
    normalise_folder,
    normalise_folder_path,
    normalise_vault_path,
    path_key,
)
from app.storage.git_store import BlobInfo, TreeChange
from app.vault.pipeline import MOVE_ACTION, Vault, VaultWrite, commit_message

logger = logging.getLogger(__name__)


class MoveService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.files = FileRepository(session)
        self.folders = FolderRepository(session)
        self.locks = LockRepository(session)
        self.lifecycle = LifecycleService(session, settings, vault)
        self.cards = CardService(session, settings, vault)

    async def move_file(self, file_id: int, user: User, to: str) -> FileOut:
        """Rename a file, move it to another folder, or both (`to` is its whole new path)."""
        new_path = normalise_vault_path(to, self.settings.allowed_extensions)
        new_key = path_key(new_path)
        async with self.vault.write() as w:
            # Paths first, then the row, as a folder move takes them (the other order could deadlock with one).
            key_now = await self.files.live_key_of(file_id)
            if key_now is None:
                raise NotFound(f"File {file_id} not found")
            await w.lock_paths(sorted({key_now, new_key}))
            file = await self.files.get_for_update(file_id)
            if file is None or file.deleted_at is not None:
                raise NotFound(f"File {file_id} not found")
            if file.path_key != key_now:
                raise Conflict(f"{file.path!r} was moved just now; look again and retry")
            old_path = file.path
            if new_path == old_path:
                raise BadRequest(f"{old_path!r} already has that name")
            await self._refuse_checked_out([file], user)
            if new_key != file.path_key:  # a change of case only is the same file at the same place
                taken = await self.files.get_live_by_key(new_key)
                if taken is not None:
                    raise Conflict(f"{taken.path!r} already exists")
                await w.refuse_clashes([new_path], [new_key])
            verb = "Rename" if old_path.rsplit("/", 1)[:-1] == new_path.rsplit("/", 1)[:-1] else "Move"
            commit = await w.commit(
                [TreeChange(new_path, BlobInfo(file.blob_sha, file.size)), TreeChange(old_path, None)],
                author=user,
                message=commit_message(
                    f"{verb} {old_path} to {new_path}", MOVE_ACTION, user, trailers={"From": old_path, "To": new_path}
                ),
            )
            w.mark_moved(file, new_path, new_key, commit, by=user)
            await self.lifecycle.follow_moves(w, [(file, old_path)], user, f"{verb} {old_path} to {new_path}")
            await self.cards.after_files_moved([file.id])  # it inherits from its new folders' cards
            entry = FileMoved(
                file_id=file.id, path=new_path, old_path=old_path, user=user.username, commit=commit.commit_sha
            )
            await w.journal(entry, actor=user)
            row = await self.files.row(file.id)
            assert row is not None
            out = file_out(row)
        logger.info("file moved user=%s id=%d from=%s to=%s", user.username, file.id, old_path, new_path)
        return out

    async def move_folder(self, user: User, path: str, to: str) -> FolderMoveOut:
        """Rename or move a folder with everything in it: one commit for all its files (none if it holds none)."""
        old = normalise_folder(path)
        if not old:
            raise BadRequest("The top of the vault cannot be moved")
        new = normalise_folder_path(to)
        old_key, new_key = path_key(old), path_key(new)
        if new == old:
            raise BadRequest(f"{old!r} already has that name")
        if new_key != old_key and is_inside(new_key, old_key):
            raise BadRequest(f"{old!r} cannot be moved into itself")
        async with self.vault.write() as w:
            # Exclusive on both folders: every writer of a file inside either waits (it holds them shared).
            await w.lock_paths(sorted({old_key, new_key}))
            files = await self.files.live_under_for_update(old_key)
            rows = await self.folders.under(old_key, for_update=True)
            if not files and not rows:
                raise NotFound(f"No folder {old!r}")
            if new_key != old_key:
                await self._refuse_existing_folder(w, new, new_key)
            await self._refuse_checked_out(files, user)
            empty = not files and len(rows) == 1  # only its own row: nothing inside
            # A change of case only may leave some files' paths as they were (`Jobs/a.nc` in `jobs` -> `Jobs`).
            pairs = [(f, t) for f in files if (t := self._new_path(f, old, new)) != f.path]
            files, targets = [f for f, _ in pairs], [t for _, t in pairs]
            commit_sha = None
            if files:
                changes = [TreeChange(t, BlobInfo(f.blob_sha, f.size)) for f, t in zip(files, targets, strict=True)]
                changes += [TreeChange(f.path, None) for f in files]
                summary = f"Move folder {old} to {new} ({len(files)} file{'s' if len(files) != 1 else ''})"
                commit = await w.commit(
                    changes,
                    author=user,
                    message=commit_message(summary, MOVE_ACTION, user, trailers={"From": old, "To": new}),
                )
                commit_sha = commit.commit_sha
                old_paths = [f.path for f in files]
                for file, target in zip(files, targets, strict=True):
                    old_path = file.path
                    w.mark_moved(file, target, path_key(target), commit, by=user)
                    entry = FileMoved(
                        file_id=file.id,
                        path=target,
                        old_path=old_path,
                        user=user.username,
                        commit=commit_sha,
                        folder=old,
                    )
                    await w.journal(entry, actor=user)
                await self.lifecycle.follow_moves(w, list(zip(files, old_paths, strict=True)), user, summary)
            for row in rows:
                row.path = new if row.path_key == old_key else moved_path(row.path, old, new)
                row.path_key = path_key(row.path)
            await self.session.flush()
            await self.cards.after_folder_moved(old_key, new_key, new, [f.id for f in files])  # folder cards move too
            entry_folder = FolderMoved(path=new, old_path=old, user=user.username, files=len(files), commit=commit_sha)
            await w.journal(entry_folder, actor=user)
            moved = await self.files.rows([f.id for f in files])
            out = FolderMoveOut(
                folder=FolderOut(name=new.rsplit("/", 1)[-1], path=new, files=len(files), empty=empty),
                old_path=old,
                files=[file_out(r) for r in moved],
                commit=commit_sha,
            )
        logger.info("folder moved user=%s from=%s to=%s files=%d", user.username, old, new, len(files))
        return out

    @staticmethod
    def _new_path(file: File, old: str, new: str) -> str:
        target = moved_path(file.path, old, new)
        try:
            return normalise_vault_path(target, None)  # the name rules (lengths above all) hold at the new place
        except DomainError as exc:
            raise type(exc)(f"{file.path!r} cannot move to {target!r}: {exc.detail}") from None

    async def _refuse_existing_folder(self, w: VaultWrite, new: str, new_key: str) -> None:
        if (
            await self.files.any_live_under(new_key)
            or await self.folders.get_by_key(new_key) is not None
            or await self.folders.has_below(new_key)
        ):
            raise Conflict(f"{new!r} already exists; choose another name (folders are not merged)")
        taken = await self.files.get_live_by_key(new_key)
        if taken is not None:
            raise Conflict(f"{taken.path!r} is a file in the vault; it cannot be a folder")
        await w.refuse_clashes([new], [new_key])

    async def _refuse_checked_out(self, files: Sequence[File], user: User) -> None:
        """409 naming the first file someone else has checked out (the mover's own locks move with the files)."""
        if not files:
            return
        held = await self.locks.held_by_others([f.id for f in files], user.id)
        if held:
            lock, file, holder = held[0]
            more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
            message = f"{file.path} is checked out by {holder}{more}; it cannot be moved until it is checked in"
            raise LockHeld(holder, lock.acquired_at, lock.expires_at, message=message)
