from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import AuthServiceDep, CurrentClaims
from app.schemas.auth import TokenOut, TokenRequest
from app.schemas.user import UserOut, UserRegister

router = APIRouter(prefix="/auth", tags=["auth"])

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Wrong username or password"},
    429: {"description": "Too many failures"},
}


@router.post("/login", response_model=TokenOut, responses=_UNAUTHORIZED)
async def login_form(form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: AuthServiceDep) -> TokenOut:
    """OAuth2 password flow (form fields `username`, `password`); `username` may be an email."""
    return await auth.login(form.username, form.password)


@router.post("/token", response_model=TokenOut, responses=_UNAUTHORIZED)
async def login_json(body: TokenRequest, auth: AuthServiceDep) -> TokenOut:
    """JSON login with a username or an email."""
    return await auth.login(body.login, body.password)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(current: CurrentClaims, auth: AuthServiceDep) -> None:
    """Revoke the token this request carries; it stops working at once, on every worker."""
    await auth.logout(*current)


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(body: UserRegister, auth: AuthServiceDep) -> UserOut:
    """Self-signup, only when ALLOW_SIGNUP=true; new accounts are viewers."""
    return UserOut.model_validate(await auth.register(body))
