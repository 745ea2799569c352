from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class AuditEvent(Base):
    """Append-only: a database trigger rejects UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_actor_id_at", "actor_id", "at"),
        Index("ix_audit_events_target_at", "target", "at"),
        Index("ix_audit_events_file_id_at", "file_id", "at"),
        Index("ix_audit_events_subject_user_id_at", "subject_user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # clock_timestamp, not now(): several events in one transaction keep their real order.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("clock_timestamp()"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(1100))
    # Real columns for what filters and rules need (details stay for display): the file a change is about,
    # and the user it happened to (a former lock holder, a changed account). No foreign keys: audit is a record.
    file_id: Mapped[int | None] = mapped_column(Integer)
    subject_user_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
