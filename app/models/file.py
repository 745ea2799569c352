from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class File(Base):
    """One vault path's life: its current head, and whether it is deleted (soft)."""

    __tablename__ = "files"
    __table_args__ = (
        # One live file per path, ignoring case and Unicode form (path_key is NFC + casefold):
        # Windows and macOS clients would otherwise overwrite one twin with the other.
        Index("uq_files_live_path_key", "path_key", unique=True, postgresql_where=text("deleted_at IS NULL")),
        Index("ix_files_updated_at_id", "updated_at", "id"),
        Index("ix_files_size_id", "size", "id"),
        # The name order (natural, case-insensitive; app/services/paths.py name_sort_key) with keyset paging.
        Index("ix_files_sort_key_id", "sort_key", "id"),
        # Search is a substring match on path_key (LIKE '%q%'); a trigram index answers it, and its count,
        # without reading every path (make bench: the cost grew with the vault before).
        Index(
            "ix_files_path_key_trgm", "path_key", postgresql_using="gin", postgresql_ops={"path_key": "gin_trgm_ops"}
        ),
        # The listing's state filter, and the floor's (released revisions only) view, keyset-paged by name.
        Index("ix_files_state_path_id", "state", "path", "id"),
        Index(
            "ix_files_released_path_id",
            "path",
            "id",
            postgresql_where=text("revision_id IS NOT NULL AND state <> 'obsolete' AND deleted_at IS NULL"),
        ),
        CheckConstraint("state IN ('wip', 'in_review', 'released', 'obsolete')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(1024))
    path_key: Mapped[str] = mapped_column(String(1024))
    # Computed in Python from path_key (no ICU needed), compared byte by byte whatever the database's collation.
    sort_key: Mapped[str] = mapped_column(String(1600, collation="C"))
    size: Mapped[int] = mapped_column(BigInteger)
    blob_sha: Mapped[str] = mapped_column(String(64))
    head_commit: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # After a check-in that changed content, only cooldown_user may check the file out until then.
    cooldown_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cooldown_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The release lifecycle (app/models/lifecycle.py): where the newest work stands, and the current revision
    # (what the shop floor gets; kept while obsolete, so reinstate can bring it back).
    state: Mapped[str] = mapped_column(String(16), server_default="wip")
    revision_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("file_revisions.id", use_alter=True, name="fk_files_revision_id_file_revisions")
    )


class FileVersion(Base):
    __tablename__ = "file_versions"
    __table_args__ = (
        UniqueConstraint("file_id", "version", name="uq_file_versions_file_id_version"),
        Index("ix_file_versions_commit_sha", "commit_sha"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    version: Mapped[int] = mapped_column(Integer)
    # Where the file was when this version was made: a file keeps its id (and history) across renames.
    path: Mapped[str] = mapped_column(String(1024))
    commit_sha: Mapped[str] = mapped_column(String(64))
    blob_sha: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(4000), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Lock(Base):
    """An exclusive check-out. file_id is the primary key: one lock per file, by construction."""

    __tablename__ = "locks"
    __table_args__ = (Index("ix_locks_user_id", "user_id"), Index("ix_locks_expires_at", "expires_at"))

    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(String(1000), server_default="")
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Folder(Base):
    """A folder someone made: kept here until it is deleted, so it exists even while it holds no file.

    Git cannot hold an empty folder, so this row is the folder's only record until a file is put in it;
    folders that only hold files need no row (the files' paths make them). A rename or move of a folder moves
    its row and every row below it with its files.
    """

    __tablename__ = "folders"
    __table_args__ = (Index("uq_folders_path_key", "path_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(1024))
    path_key: Mapped[str] = mapped_column(String(1024))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
