from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from app.api.deps import AccessTokenServiceDep, AuthServiceDep, CurrentUser
from app.api.responses import errors
from app.schemas.access_token import AccessTokenCreate, AccessTokenOut, NewAccessToken
from app.schemas.common import INT32_MAX
from app.schemas.user import PasswordChange, UserOut

TokenId = Annotated[int, Path(ge=1, le=INT32_MAX, description="Access token id")]

router = APIRouter(prefix="/users", tags=["users"], responses=errors(401))


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403))
async def change_password(body: PasswordChange, user: CurrentUser, auth: AuthServiceDep) -> None:
    """Needs the current password; every token issued before stops working (log in again)."""
    await auth.change_password(user, body)


@router.post(
    "/me/access-tokens", response_model=NewAccessToken, status_code=status.HTTP_201_CREATED, responses=errors(400)
)
async def create_access_token(
    body: AccessTokenCreate, user: CurrentUser, tokens: AccessTokenServiceDep
) -> NewAccessToken:
    """A personal access token for git and git-lfs (HTTP Basic: your username and the token). The token is
    in this answer only: it cannot be read back."""
    return await tokens.create(user, body)


@router.get("/me/access-tokens", response_model=list[AccessTokenOut])
async def list_access_tokens(user: CurrentUser, tokens: AccessTokenServiceDep) -> list[AccessTokenOut]:
    """Your tokens that still work or have expired; a password change ends all of them."""
    return await tokens.list(user)


@router.delete("/me/access-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def revoke_access_token(token_id: TokenId, user: CurrentUser, tokens: AccessTokenServiceDep) -> None:
    """Revoke one of your tokens; it stops working at once."""
    await tokens.revoke(user, token_id)
