from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class AccessToken(Base):
    """A personal access token for clients that speak HTTP Basic (git, git-lfs); only its hash is kept."""

    __tablename__ = "access_tokens"
    __table_args__ = (
        Index("uq_access_tokens_token_hash", "token_hash", unique=True),
        Index("ix_access_tokens_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # sha256 of the whole secret: the secret is random enough that a slow hash would add nothing.
    token_hash: Mapped[str] = mapped_column(String(64))
    # The secret's first characters, so a user can tell their tokens apart in a list.
    hint: Mapped[str] = mapped_column(String(16))
    # The owner's token_version when it was made: a password change ends it, as it ends every JWT.
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
