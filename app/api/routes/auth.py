from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import AuthServiceDep, CurrentClaims
from app.api.responses import errors
from app.schemas.auth import TokenOut, TokenRequest
from app.schemas.user import UserOut, UserRegister

router = APIRouter(prefix="/auth", tags=["auth"])

_UNAUTHORIZED = errors(400, 401, 429)


@router.post("/login", response_model=TokenOut, responses=_UNAUTHORIZED)
async def login_form(form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: AuthServiceDep) -> TokenOut:
    """OAuth2 password flow (form fields `username`, `password`); `username` may be an email."""
    return await auth.login(form.username, form.password)


@router.post("/token", response_model=TokenOut, responses=_UNAUTHORIZED)
async def login_json(body: TokenRequest, auth: AuthServiceDep) -> TokenOut:
    """JSON login with a username or an email."""
    return await auth.login(body.login, body.password)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401))
async def logout(current: CurrentClaims, auth: AuthServiceDep) -> None:
    """Revoke the token this request carries; it stops working at once, on every worker."""
    await auth.logout(*current)


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=errors(403, 409))
async def register(body: UserRegister, auth: AuthServiceDep) -> UserOut:
    """Self-signup, only when ALLOW_SIGNUP=true; new accounts are viewers."""
    return UserOut.model_validate(await auth.register(body))
