from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Text


class AccessTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=100, description="What the token is for, e.g. 'laptop git'")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Days until the token stops working; none: until revoked"
    )


class AccessTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    hint: str = Field(description="The first characters of the token, to tell tokens apart")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class NewAccessToken(AccessTokenOut):
    """The only answer that carries the secret: it is shown once and cannot be read back."""

    token: str = Field(description="Use as the password for HTTP Basic (git, git-lfs) with your username")
