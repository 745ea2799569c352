from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import AuthServiceDep, CurrentUser
from app.api.responses import errors
from app.schemas.user import PasswordChange, UserOut

router = APIRouter(prefix="/users", tags=["users"], responses=errors(401))


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403))
async def change_password(body: PasswordChange, user: CurrentUser, auth: AuthServiceDep) -> None:
    """Needs the current password; every token issued before stops working (log in again)."""
    await auth.change_password(user, body)
