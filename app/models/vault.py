from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class VaultRef(Base):
    """The commit each branch of the vault is at, as far as the catalog knows: the commit point.

    A write builds its commit on this sha and updates it in the same transaction as the catalog rows;
    the Git ref follows after the commit (docs/design.md, "Commit protocol"). Locking this row is what
    serialises Git writes across workers.
    """

    __tablename__ = "vault_refs"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    commit_sha: Mapped[str | None] = mapped_column(String(64))  # None: the branch has no commit yet
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LockHistory(Base):
    """One check-out from start to end: who held which file, and how and by whom it ended.

    Rules read it (the lost-lock rule); the audit log is only for people. `ended_at` is NULL while the
    check-out is open.
    """

    __tablename__ = "lock_history"
    __table_args__ = (
        Index("ix_lock_history_file_id_user_id_id", "file_id", "user_id", "id"),
        Index("uq_lock_history_open_file_id", "file_id", unique=True, postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(String(1000), server_default="")
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # released | checked_in | expired | forced | deleted
    end_reason: Mapped[str | None] = mapped_column(String(16))
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
