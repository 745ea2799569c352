from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class Presence(Base):
    """One open WebSocket, anywhere in the cluster: who, on which worker, viewing which file.

    A row belongs to the worker whose LISTEN connection has PostgreSQL backend `backend_pid`
    (started at `backend_start`, so a reused pid is not mistaken for the old one). When that
    worker dies, the kernel closes its sockets, PostgreSQL ends the backend, and any live
    worker can tell the row is dead from `pg_stat_activity`. `heartbeat_at` covers a worker
    whose host vanished without closing its connection.

    UNLOGGED: presence is about this moment; after a database crash the table comes back
    empty, which is exactly right, and heartbeats write no WAL.
    """

    __tablename__ = "presence"
    __table_args__ = (
        Index("ix_presence_user_id", "user_id"),
        Index("ix_presence_worker_id", "worker_id"),
        {"prefixes": ["UNLOGGED"]},
    )

    connection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    worker_id: Mapped[str] = mapped_column(String(32))
    backend_pid: Mapped[int] = mapped_column(Integer)
    backend_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    viewing_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    connected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
