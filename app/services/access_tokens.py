"""Personal access tokens: made, listed and revoked by their owner (for git and git-lfs over HTTP Basic)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.errors import NotFound
from app.core.security import new_access_token
from app.journal.accounts import AccessTokenCreated, AccessTokenRevoked
from app.models import AccessToken, User
from app.repositories.access_tokens import AccessTokenRepository
from app.schemas.access_token import AccessTokenCreate, AccessTokenOut, NewAccessToken

logger = logging.getLogger(__name__)


class AccessTokenService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tokens = AccessTokenRepository(session)

    async def create(self, user: User, body: AccessTokenCreate) -> NewAccessToken:
        secret, token_hash, hint = new_access_token()
        expires_at = datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
        token = await self.tokens.add(
            AccessToken(
                user_id=user.id,
                name=body.name,
                token_hash=token_hash,
                hint=hint,
                token_version=user.token_version,
                expires_at=expires_at,
            )
        )
        await self.session.refresh(token)
        created = AccessTokenCreated(
            user_id=user.id, username=user.username, token_id=token.id, name=token.name, expires_at=expires_at
        )
        await journal.append(self.session, created, actor=user)
        out = NewAccessToken(**AccessTokenOut.model_validate(token).model_dump(), token=secret)
        await self.session.commit()
        logger.info("access token created user=%s id=%s", user.username, token.id)
        return out

    async def list(self, user: User) -> list[AccessTokenOut]:
        return [AccessTokenOut.model_validate(t) for t in await self.tokens.of_user(user.id, user.token_version)]

    async def revoke(self, user: User, token_id: int) -> None:
        token = await self.tokens.get_of_user(token_id, user.id)
        if token is None:
            raise NotFound(f"Access token {token_id} not found")
        await self.tokens.delete(token.id)
        revoked = AccessTokenRevoked(user_id=user.id, username=user.username, token_id=token.id, name=token.name)
        await journal.append(self.session, revoked, actor=user)
        await self.session.commit()
        logger.info("access token revoked user=%s id=%s", user.username, token_id)
