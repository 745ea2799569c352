"""User administration and the first admin."""

from __future__ import annotations

import logging
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.security import hash_password
from app.journal.accounts import PasswordReset, UserCreated, UserUpdated
from app.models import Role, User
from app.repositories.users import UserRepository
from app.schemas.user import UserCreate, UserList, UserOut, UserUpdate

logger = logging.getLogger(__name__)

VIEWERS_NEVER_APPROVE = "A viewer cannot be an approver (make them a user first)"


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)

    async def list(
        self,
        *,
        q: str | None = None,
        role: Role | None = None,
        active: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> UserList:
        rows, total = await self.users.list(q=q, role=role, active=active, limit=limit, offset=offset)
        return UserList(items=[UserOut.model_validate(u) for u in rows], total=total)

    async def get(self, user_id: int) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found")
        return user

    async def create(self, body: UserCreate, *, actor: User | None) -> User:
        if await self.users.get_by_username(body.username):
            raise Conflict("Username is already taken")
        if body.email and await self.users.email_taken(body.email):
            raise Conflict("Email is already in use")
        if body.is_approver and body.role == Role.viewer:
            raise Unprocessable(VIEWERS_NEVER_APPROVE)
        user = User(
            username=body.username,
            email=body.email,
            full_name=body.full_name,
            role=body.role,
            is_approver=body.is_approver,
            password_hash=await to_thread.run_sync(hash_password, body.password),
        )
        await self.users.add(user)
        await journal.append(
            self.session,
            UserCreated(user_id=user.id, username=user.username, role=user.role.value, is_approver=user.is_approver),
            actor=actor,
        )
        await self.session.commit()
        logger.info("user created username=%s role=%s", user.username, user.role.value)
        return user

    async def update(self, user_id: int, body: UserUpdate, *, actor: User) -> User:
        user = await self.get(user_id)
        changes: dict[str, Any] = {}
        fields = body.model_dump(exclude_unset=True)
        if "email" in fields and fields["email"] != user.email:
            if fields["email"] and await self.users.email_taken(fields["email"], except_id=user.id):
                raise Conflict("Email is already in use")
            changes["email"] = [user.email, fields["email"]]
            user.email = fields["email"]
        if fields.get("full_name") is not None and fields["full_name"] != user.full_name:
            changes["full_name"] = [user.full_name, fields["full_name"]]
            user.full_name = fields["full_name"]
        new_role = fields.get("role")
        new_active = fields.get("is_active")
        if (new_role is not None and new_role != user.role) or (new_active is False and user.is_active):
            await self._keep_one_admin(user, new_role=new_role, new_active=new_active)
        if new_role is not None and new_role != user.role:
            changes["role"] = [user.role.value, new_role.value]
            user.role = new_role
        if new_active is not None and new_active != user.is_active:
            changes["is_active"] = [user.is_active, new_active]
            user.is_active = new_active
            if not new_active:
                # Ends every token made so far for good: bearer, access and download tokens all carry the
                # version, so reactivating the account later does not bring any of them back.
                user.token_version += 1
        # The approver flag (audited like any change): a viewer never approves, so becoming one clears it.
        approver = fields.get("is_approver")
        if approver is None and user.role == Role.viewer and user.is_approver:
            approver = False
        if approver and user.role == Role.viewer:
            raise Unprocessable(VIEWERS_NEVER_APPROVE)
        if approver is not None and approver != user.is_approver:
            changes["is_approver"] = [user.is_approver, approver]
            user.is_approver = approver
        if changes:
            # A deactivation also ends every session of the user (the entry's event closes their sockets).
            await journal.append(
                self.session, UserUpdated(user_id=user.id, username=user.username, changes=changes), actor=actor
            )
        await self.session.commit()
        return user

    async def deactivate(self, user_id: int, *, actor: User) -> User:
        return await self.update(user_id, UserUpdate(is_active=False), actor=actor)

    async def reset_password(self, user_id: int, new_password: str, *, actor: User) -> None:
        user = await self.get(user_id)
        user.password_hash = await to_thread.run_sync(hash_password, new_password)
        user.token_version += 1
        await journal.append(self.session, PasswordReset(user_id=user.id, username=user.username), actor=actor)
        await self.session.commit()

    async def _keep_one_admin(self, user: User, *, new_role: Role | None, new_active: bool | None) -> None:
        """Refuse the change that would leave the installation without an active admin."""
        if user.role != Role.admin or not user.is_active:
            return
        if new_role in (None, Role.admin) and new_active is not False:
            return
        await self.users.serialise_admin_changes()
        if await self.users.count_active_admins() <= 1:
            raise Conflict("This is the last active admin; promote another admin first")

    async def ensure_first_admin(self, username: str, password: str, email: str | None = None) -> User | None:
        """Create the first admin when the installation has none; otherwise do nothing."""
        await self.users.serialise_admin_changes()
        if await self.users.count_active_admins() > 0:
            await self.session.rollback()
            return None
        existing = await self.users.get_by_username(username)
        if existing is not None:
            await self.session.rollback()
            logger.warning("FIRST_ADMIN_USERNAME=%s exists but is not an active admin; not changed", username)
            return None
        return await self.create(
            UserCreate(username=username, password=password, email=email, role=Role.admin), actor=None
        )
