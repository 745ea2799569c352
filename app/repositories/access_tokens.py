from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from app.models import AccessToken
from app.repositories.base import Repository

# last_used_at is for people reading a list; one write a minute per token is plenty.
_TOUCH_EVERY = timedelta(minutes=1)


class AccessTokenRepository(Repository[AccessToken]):
    model = AccessToken

    async def by_hash(self, token_hash: str) -> AccessToken | None:
        stmt = select(AccessToken).where(AccessToken.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_user(self, user_id: int, token_version: int) -> Sequence[AccessToken]:
        """The user's tokens that still count (a password change ends the older ones), newest first."""
        stmt = (
            select(AccessToken)
            .where(AccessToken.user_id == user_id, AccessToken.token_version == token_version)
            .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get_of_user(self, token_id: int, user_id: int) -> AccessToken | None:
        stmt = select(AccessToken).where(AccessToken.id == token_id, AccessToken.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete(self, token_id: int) -> None:
        await self.session.execute(delete(AccessToken).where(AccessToken.id == token_id))

    async def touch(self, token_id: int) -> None:
        stmt = (
            update(AccessToken)
            .where(
                AccessToken.id == token_id,
                or_(AccessToken.last_used_at.is_(None), AccessToken.last_used_at < func.now() - _TOUCH_EVERY),
            )
            .values(last_used_at=func.now())
        )
        await self.session.execute(stmt)
