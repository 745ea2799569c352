from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select

from app.models import RevokedToken, Role, User
from app.repositories.base import Repository

ADMIN_CHANGES_LOCK = 0x63616D0001  # "cam" + 1: any constant unique within the app


@cache
def _with_revocation() -> Any:
    """Built once: every authenticated request runs it, and a statement made anew is walked again to find its
    compiled SQL in SQLAlchemy's cache (app/repositories/locks.py says more)."""
    revoked = exists().where(RevokedToken.jti == bindparam("p_jti"))
    return select(User, revoked).where(User.id == bindparam("p_user"))


class UserRepository(Repository[User]):
    model = User

    async def get_with_revocation(self, user_id: int, jti: str) -> tuple[User, bool] | None:
        """The user and whether this token id was revoked (logged out), in one statement."""
        found = (await self.session.execute(_with_revocation(), {"p_user": user_id, "p_jti": jti})).first()
        return (found[0], bool(found[1])) if found else None

    async def get_by_username(self, username: str) -> User | None:
        stmt = select(User).where(func.lower(User.username) == username.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_login(self, login: str) -> User | None:
        """A user by username or email, ignoring case."""
        key = login.lower()
        stmt = select(User).where(or_(func.lower(User.username) == key, func.lower(User.email) == key))
        return (await self.session.execute(stmt)).scalars().first()

    async def email_taken(self, email: str, *, except_id: int | None = None) -> bool:
        stmt = select(User.id).where(func.lower(User.email) == email.lower())
        if except_id is not None:
            stmt = stmt.where(User.id != except_id)
        return (await self.session.execute(stmt)).first() is not None

    async def list(
        self, *, q: str | None, role: Role | None, active: bool | None, limit: int, offset: int
    ) -> tuple[Sequence[User], int]:
        stmt = select(User)
        if q:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(User.username).like(pattern),
                    func.lower(User.full_name).like(pattern),
                    func.lower(User.email).like(pattern),
                )
            )
        if role is not None:
            stmt = stmt.where(User.role == role)
        if active is not None:
            stmt = stmt.where(User.is_active == active)
        total = (await self.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        rows = await self.session.execute(stmt.order_by(func.lower(User.username)).limit(limit).offset(offset))
        return rows.scalars().all(), total

    async def count_active_admins(self) -> int:
        stmt = select(func.count()).where(User.role == Role.admin, User.is_active.is_(True))
        return (await self.session.execute(stmt)).scalar_one()

    async def serialise_admin_changes(self) -> None:
        """Hold a transaction-scoped advisory lock so two demotions, or two workers creating
        the first admin, cannot both pass the admin count check."""
        await self.session.execute(select(func.pg_advisory_xact_lock(ADMIN_CHANGES_LOCK)))
