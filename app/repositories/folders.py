from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select

from app.models import Folder
from app.repositories.base import Repository


class FolderRepository(Repository[Folder]):
    """Folders someone made (app/models/file.py Folder); folders that only hold files have no row."""

    model = Folder

    async def get_by_key(self, path_key: str, *, for_update: bool = False) -> Folder | None:
        stmt = select(Folder).where(Folder.path_key == path_key)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def any_of(self, path_keys: Sequence[str]) -> Folder | None:
        """A folder row at one of these keys (a file may not be put where a folder is)."""
        stmt = select(Folder).where(Folder.path_key.in_(list(path_keys))).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def under(self, folder_key: str, *, for_update: bool = False) -> Sequence[Folder]:
        """The folder's own row (if any) and every row below it."""
        stmt = select(Folder).where(
            or_(Folder.path_key == folder_key, Folder.path_key.startswith(folder_key + "/", autoescape=True))
        )
        if for_update:
            stmt = stmt.order_by(Folder.id).with_for_update()
        return (await self.session.execute(stmt)).scalars().all()

    async def has_below(self, folder_key: str) -> bool:
        stmt = select(Folder.id).where(Folder.path_key.startswith(folder_key + "/", autoescape=True)).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def children(self, parent_key: str) -> Sequence[tuple[str, str, bool]]:
        """(name, name key, holds a folder row) of each folder directly inside `parent_key` ("" = the top) that a
        row makes. A row deeper down makes its folders on the way too (`a/b/c` makes `a` inside the top)."""
        depth = parent_key.count("/") + 1 if parent_key else 0
        name = func.split_part(Folder.path, "/", depth + 1)
        key = func.split_part(Folder.path_key, "/", depth + 1)
        deeper = func.bool_or(func.split_part(Folder.path_key, "/", depth + 2) != "")
        stmt = select(func.min(name.collate("C")), key, deeper).group_by(key)
        if parent_key:
            stmt = stmt.where(Folder.path_key.startswith(parent_key + "/", autoescape=True))
        return [(n, k, bool(d)) for n, k, d in (await self.session.execute(stmt)).all()]
