"""Folders: listing them, making one (empty until a file is put in it), deleting an empty one (and its card).

Git cannot hold an empty folder, so a folder someone makes is a catalog row (`folders`) until it is deleted,
and is in Git only once it holds a file; folders that only hold files need no row (their files' paths make
them). Making and deleting a folder are database-only vault writes (no commit), each with its journal entry.
Renaming and moving folders: app/services/moves.py.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadRequest, Conflict, NotFound
from app.journal.vault import FolderCreated, FolderDeleted
from app.models import Folder, User
from app.repositories.cards import FolderCardRepository
from app.repositories.files import FileRepository
from app.repositories.folders import FolderRepository
from app.schemas.file import FolderList, FolderOut
from app.services.cards import CardService
from app.services.paths import name_sort_key, normalise_folder, normalise_folder_path, path_key
from app.services.visibility import view_of
from app.vault.pipeline import Vault


class FolderService:
    def __init__(self, session: AsyncSession, vault: Vault) -> None:
        self.session = session
        self.vault = vault
        self.files = FileRepository(session)
        self.folders = FolderRepository(session)

    async def list(self, parent: str, user: User, *, released_only: bool = False) -> FolderList:
        """The folders directly inside `parent` ("" = the top): those holding files and those someone made,
        in natural, case-insensitive order (`OP2` before `OP10`). The shop floor's view lists only folders that
        hold released files (empty and work-only folders are not its business)."""
        parent = normalise_folder(parent)
        parent_key = path_key(parent)
        floor = view_of(user, self.vault.settings, released_only=released_only).floor
        subfolders = await self.files.subfolders(parent_key, released_only=floor)
        found = {path_key(name): (name, count, count == 0) for name, count in subfolders}
        for name, key, deeper in [] if floor else await self.folders.children(parent_key):
            name, count, empty = found.get(key, (name, 0, True))
            found[key] = (name, count, empty and not deeper)
        ordered = sorted(found.items(), key=lambda item: (name_sort_key(item[0]), item[1][0]))
        return FolderList(
            parent=parent,
            folders=[
                FolderOut(name=name, path=f"{parent}/{name}" if parent else name, files=count, empty=empty)
                for _key, (name, count, empty) in ordered
            ],
        )

    async def create(self, user: User, path: str) -> FolderOut:
        new = normalise_folder_path(path)
        key = path_key(new)
        async with self.vault.write() as w:
            await w.lock_paths([key])
            if (
                await self.folders.get_by_key(key) is not None
                or await self.folders.has_below(key)
                or await self.files.any_live_under(key)
            ):
                raise Conflict(f"{new!r} already exists")
            taken = await self.files.get_live_by_key(key)
            if taken is not None:
                raise Conflict(f"{taken.path!r} is a file in the vault; it cannot be a folder")
            await w.refuse_clashes([new], [key])
            self.session.add(Folder(path=new, path_key=key, created_by=user.id))
            await self.session.flush()
            await w.journal(FolderCreated(path=new, user=user.username), actor=user)
        return FolderOut(name=new.rsplit("/", 1)[-1], path=new, files=0, empty=True)

    async def delete(self, user: User, path: str) -> None:
        """Delete an empty folder (409 while it holds files or folders; deleted files do not count). Its data
        card goes with it (app/services/cards.py `after_folder_deleted`): a folder made again at that path
        starts with an empty card."""
        folder = normalise_folder(path)
        if not folder:
            raise BadRequest("The top of the vault cannot be deleted")
        key = path_key(folder)
        cards = CardService(self.session, self.vault.settings, self.vault)
        async with self.vault.write() as w:
            await w.lock_paths([key])
            row = await self.folders.get_by_key(key, for_update=True)
            if await self.files.any_live_under(key) or await self.folders.has_below(key):
                raise Conflict(f"{folder!r} is not empty; move or delete what it holds first")
            # A folder with no row but a card is one whose card was set before cards kept their folders.
            if row is None and not await FolderCardRepository(self.session).under(key):
                raise NotFound(f"No folder {folder!r}")
            if row is not None:
                await self.session.delete(row)
                await self.session.flush()
            await w.journal(FolderDeleted(path=row.path if row else folder, user=user.username), actor=user)
            await cards.after_folder_deleted(w, key, user)
