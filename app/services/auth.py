"""Login, logout, token checks, self-signup and password changes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.config import Settings
from app.core.db import read_outside_transaction
from app.core.errors import BadRequest, BasicAuthRequired, Conflict, Forbidden, Unauthorized
from app.core.security import (
    ACCESS_TOKEN_PREFIX,
    TokenClaims,
    create_access_token,
    create_download_token,
    decode_access_token,
    decode_download_token,
    hash_access_token,
    hash_password,
    verify_password,
)
from app.journal.accounts import LoggedIn, LoggedOut, LoginFailed, PasswordChanged, UserRegistered
from app.models import Role, User
from app.repositories.access_tokens import AccessTokenRepository
from app.repositories.tokens import RevokedTokenRepository
from app.repositories.users import UserRepository
from app.schemas.auth import TokenOut
from app.schemas.user import PasswordChange, UserOut, UserRegister
from app.services.login_throttle import LoginThrottleService

logger = logging.getLogger(__name__)

BAD_CREDENTIALS = "Incorrect username or password"


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.users = UserRepository(session)
        self.tokens = RevokedTokenRepository(session)
        self.throttle = LoginThrottleService(session, settings)

    async def login(self, login: str, password: str) -> TokenOut:
        if "\x00" in login:  # the OAuth2 form is not validated by a schema; PostgreSQL text cannot hold NUL
            raise BadRequest("The username must not contain NUL characters")
        user = await self.users.get_by_login(login)
        attempt = await self.throttle.count_attempt(login, user)
        valid, new_hash = await to_thread.run_sync(verify_password, password, user.password_hash if user else None)
        if not valid or user is None or not user.is_active:
            reason = "bad_password" if user and not valid else "unknown_user" if user is None else "inactive"
            await journal.append(self.session, LoginFailed(login=login, reason=reason), actor=None)
            await self.session.commit()
            logger.info("login failed login=%s reason=%s", login, reason)
            raise Unauthorized(BAD_CREDENTIALS)
        if new_hash is not None:
            user.password_hash = new_hash
        await self.throttle.succeeded(attempt)
        await journal.append(
            self.session, LoggedIn(user_id=user.id, username=user.username, login=login.lower()), actor=user
        )
        token, claims = create_access_token(
            user.id, user.token_version, self.settings.jwt_secret, self.settings.access_token_expire_minutes
        )
        await self.session.commit()
        logger.info("login user=%s", user.username)
        return TokenOut(access_token=token, expires_at=claims.expires_at, user=UserOut.model_validate(user))

    async def authenticate_basic(self, login: str, secret: str) -> User:
        """The active user behind HTTP Basic credentials: username or email, and a password or access token.

        Git clients send these on every request, so a success is not audited (the web login is); a failure
        is, as a failed login, and counts toward the same throttling. A live access token is taken before
        the throttle is asked: it is 256 random bits, not a guessable password, so someone else's wrong
        passwords must not stop a user's git client.
        """
        if "\x00" in login or "\x00" in secret or not login:
            raise BasicAuthRequired(BAD_CREDENTIALS)
        user = await self.users.get_by_login(login)
        if user is not None and user.is_active and secret.startswith(ACCESS_TOKEN_PREFIX):
            tokens = AccessTokenRepository(self.session)
            token = await tokens.by_hash(hash_access_token(secret))
            if (
                token is not None
                and token.user_id == user.id
                and token.token_version == user.token_version
                and (token.expires_at is None or token.expires_at > datetime.now(UTC))
            ):
                await tokens.touch(token.id)
                await self.session.commit()
                return user
        # Not a live token of this user: it may still be a password that happens to look like one.
        attempt = await self.throttle.count_attempt(login, user)
        valid, _ = await to_thread.run_sync(verify_password, secret, user.password_hash if user else None)
        if not valid or user is None or not user.is_active:
            reason = "bad_password" if user and not valid else "unknown_user" if user is None else "inactive"
            await journal.append(self.session, LoginFailed(login=login, reason=reason, via="basic"), actor=None)
            await self.session.commit()
            logger.info("basic auth failed login=%s reason=%s", login, reason)
            raise BasicAuthRequired(BAD_CREDENTIALS)
        await self.throttle.succeeded(attempt)
        await self.session.commit()
        return user

    async def authenticate(self, token: str | None) -> tuple[User, TokenClaims]:
        """The active user a bearer token belongs to; the role comes from the database, now."""
        claims = decode_access_token(token, self.settings.jwt_secret) if token else None
        if claims is None:
            raise Unauthorized("Invalid or expired token" if token else "Not authenticated")
        async with read_outside_transaction(self.session):
            found = await self.users.get_with_revocation(claims.user_id, claims.jti)
        user, revoked = found if found else (None, False)
        if user is None or not user.is_active:
            raise Unauthorized("User is inactive or no longer exists")
        if claims.token_version != user.token_version or revoked:
            raise Unauthorized("Token has been revoked")
        return user, claims

    async def authenticate_download(self, token: str, file_id: int) -> User:
        """The active user a download token was made for, if it was made for this file."""
        claims = decode_download_token(token, self.settings.jwt_secret)
        if claims is None or claims.file_id != file_id:
            raise Unauthorized("Invalid or expired download link")
        user = await self.users.get(claims.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("User is inactive or no longer exists")
        if claims.token_version != user.token_version:
            raise Unauthorized("Download link has been revoked")
        return user

    def download_link(self, user: User, file_id: int) -> tuple[str, datetime]:
        return create_download_token(
            user.id, user.token_version, file_id, self.settings.jwt_secret, self.settings.download_link_seconds
        )

    async def logout(self, user: User, claims: TokenClaims) -> None:
        await self.tokens.revoke(claims.jti, user.id, claims.expires_at)
        await self.tokens.purge_expired()
        await journal.append(
            self.session, LoggedOut(user_id=user.id, username=user.username, jti=claims.jti), actor=user
        )
        await self.session.commit()

    async def change_password(self, user: User, body: PasswordChange) -> None:
        valid, _ = await to_thread.run_sync(verify_password, body.old_password, user.password_hash)
        if not valid:
            raise Forbidden("The current password is not correct")
        user.password_hash = await to_thread.run_sync(hash_password, body.new_password)
        user.token_version += 1  # every token issued before this moment stops working
        await journal.append(self.session, PasswordChanged(user_id=user.id, username=user.username), actor=user)
        await self.session.commit()

    async def register(self, body: UserRegister) -> User:
        if not self.settings.allow_signup:
            raise Forbidden("Self-signup is disabled; ask an administrator for an account")
        if await self.users.get_by_username(body.username):
            raise Conflict("Username is already taken")
        if body.email and await self.users.email_taken(body.email):
            raise Conflict("Email is already in use")
        user = User(
            username=body.username,
            email=body.email,
            full_name=body.full_name,
            password_hash=await to_thread.run_sync(hash_password, body.password),
            role=Role.viewer,
        )
        await self.users.add(user)
        await journal.append(self.session, UserRegistered(user_id=user.id, username=user.username), actor=user)
        await self.session.commit()
        return user
