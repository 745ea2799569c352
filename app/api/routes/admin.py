from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse

from app.api.deps import AdminUser, AuditServiceDep, UserServiceDep
from app.api.params import Cursor, Limit, NoNul, UserId
from app.api.responses import errors
from app.models import Role
from app.repositories.audit import AuditFilter
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


def audit_filter(
    actor: Annotated[
        str | None, Query(max_length=64, description="Any part of the actor's username, full name or email"), NoNul
    ] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="Action or its start: `lock`, `lock.force`, `file.moved`"), NoNul
    ] = None,
    target: Annotated[str | None, Query(max_length=1100, description="Substring of the target"), NoNul] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilter:
    return AuditFilter(actor=actor, action=action, target=target, since=since, until=until)


AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/audit", response_model=AuditPage, responses=errors(400))
async def audit_log(
    admin: AdminUser, audit: AuditServiceDep, filters: AuditFilterDep, cursor: Cursor = None, limit: Limit = 50
) -> AuditPage:
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""
    return await audit.search(filters, cursor=cursor, limit=limit)


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The filtered audit log as CSV, newest first"}},
)
async def audit_export(admin: AdminUser, audit: AuditServiceDep, filters: AuditFilterDep) -> StreamingResponse:
    """Every row the same filters match (all pages), streamed as CSV (UTF-8 with a BOM, for spreadsheets)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        audit.export_csv(filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="camvault-audit-{stamp}.csv"'},
    )
