from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert

from app.models import RevokedToken
from app.repositories.base import Repository


class RevokedTokenRepository(Repository[RevokedToken]):
    model = RevokedToken

    async def revoke(self, jti: str, user_id: int, expires_at: datetime) -> None:
        stmt = insert(RevokedToken).values(jti=jti, user_id=user_id, expires_at=expires_at)
        await self.session.execute(stmt.on_conflict_do_nothing(index_elements=["jti"]))

    async def purge_expired(self) -> int:
        result = await self.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < func.now()))
        return result.rowcount or 0  # type: ignore[attr-defined]
