from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.models import VaultRef
from app.repositories.base import Repository


class VaultRefRepository(Repository[VaultRef]):
    model = VaultRef

    async def lock(self, name: str) -> VaultRef | None:
        """The ref row, locked until the transaction ends: the cluster-wide turn to write to Git."""
        stmt = select(VaultRef).where(VaultRef.name == name).with_for_update()
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def get_unlocked(self, name: str) -> VaultRef | None:
        stmt = select(VaultRef).where(VaultRef.name == name)
        return (await self.session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def adopt(self, name: str, commit_sha: str | None) -> None:
        """Create the row with Git's sha, unless another worker did first."""
        stmt = insert(VaultRef).values(name=name, commit_sha=commit_sha).on_conflict_do_nothing()
        await self.session.execute(stmt)

    async def move(self, name: str, commit_sha: str) -> None:
        await self.session.execute(
            update(VaultRef).where(VaultRef.name == name).values(commit_sha=commit_sha, updated_at=func.now())
        )

    async def all(self) -> Sequence[VaultRef]:
        return (await self.session.execute(select(VaultRef).order_by(VaultRef.name))).scalars().all()
