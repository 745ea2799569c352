from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminUser, AuditServiceDep, UserServiceDep
from app.api.params import Cursor, Limit, NoNul, UserId
from app.api.responses import errors
from app.models import Role
from app.schemas.audit import AuditPage
from app.schemas.common import INT32_MAX
from app.schemas.user import PasswordReset, UserCreate, UserList, UserOut, UserUpdate

router = APIRouter(prefix="/admin", tags=["admin"], responses=errors(401, 403))


@router.get("/users", response_model=UserList)
async def list_users(
    admin: AdminUser,
    users: UserServiceDep,
    q: Annotated[str | None, Query(max_length=100, description="Substring of username, name or email"), NoNul] = None,
    role: Role | None = None,
    active: bool | None = None,
    limit: Limit = 100,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> UserList:
    return await users.list(q=q, role=role, active=active, limit=limit, offset=offset)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=errors(409))
async def create_user(body: UserCreate, admin: AdminUser, users: UserServiceDep) -> UserOut:
    return UserOut.model_validate(await users.create(body, actor=admin))


@router.get("/users/{user_id}", response_model=UserOut, responses=errors(404))
async def get_user(user_id: UserId, admin: AdminUser, users: UserServiceDep) -> UserOut:
    return UserOut.model_validate(await users.get(user_id))


@router.patch("/users/{user_id}", response_model=UserOut, responses=errors(404, 409))
async def update_user(user_id: UserId, body: UserUpdate, admin: AdminUser, users: UserServiceDep) -> UserOut:
    """Change role, full name, email or active flag. Users are never deleted: audit rows name them."""
    return UserOut.model_validate(await users.update(user_id, body, actor=admin))


@router.post("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def reset_password(user_id: UserId, body: PasswordReset, admin: AdminUser, users: UserServiceDep) -> None:
    """Set a new password; the user's existing tokens stop working."""
    await users.reset_password(user_id, body.new_password, actor=admin)


@router.post("/users/{user_id}/deactivate", response_model=UserOut, responses=errors(404, 409))
async def deactivate_user(user_id: UserId, admin: AdminUser, users: UserServiceDep) -> UserOut:
    return UserOut.model_validate(await users.deactivate(user_id, actor=admin))


@router.get("/audit", response_model=AuditPage, responses=errors(400))
async def audit_log(
    admin: AdminUser,
    audit: AuditServiceDep,
    actor: Annotated[str | None, Query(max_length=64, description="Username of who acted"), NoNul] = None,
    action: Annotated[str | None, Query(max_length=64, description="Action, or a prefix such as `user`"), NoNul] = None,
    target: Annotated[str | None, Query(max_length=1100, description="Substring of the target"), NoNul] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AuditPage:
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""
    return await audit.search(
        actor=actor, action=action, target=target, since=since, until=until, cursor=cursor, limit=limit
    )
