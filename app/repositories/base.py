from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Base

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    """SQL over one session. Repositories flush, never commit: the service owns the transaction."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: int) -> M | None:
        return await self.session.get(self.model, id_)

    async def add(self, obj: M) -> M:
        self.session.add(obj)
        await self.session.flush()
        return obj
