from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class LoginThrottle(Base):
    """Login attempts counted against one key (an account, an unknown login name, a client address) in the
    window that began with its first failure. State made for the throttle: the audit log stays the record."""

    __tablename__ = "login_throttles"
    __table_args__ = (Index("ix_login_throttles_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
