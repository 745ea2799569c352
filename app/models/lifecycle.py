"""The release lifecycle: a file's revisions (released versions with a label) and its reviews.

`file_revisions` is what the `released` Git branch says (camvault reindex rebuilds it from that branch's
commits); `reviews` and `review_approvals` are the workflow in flight and its record (submissions, each
approval with its comment, rejections), kept by the database and the audit log.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class FileState(enum.StrEnum):
    """Where a file's newest work stands. The floor's view depends on the revision, not on this."""

    wip = "wip"  # work in progress: never released, changed since its revision, or rejected
    in_review = "in_review"  # the head version is frozen under review
    released = "released"  # the head version is the current revision
    obsolete = "obsolete"  # withdrawn: no check-out, no new versions, gone from the floor


class ReviewStatus(enum.StrEnum):
    open = "open"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # the file was deleted while in review


class FileRevision(Base):
    """A released version of a file, with its label (A, B, … or 1, 2, …): one commit on the released branch."""

    __tablename__ = "file_revisions"
    __table_args__ = (
        UniqueConstraint("file_id", "seq", name="uq_file_revisions_file_id_seq"),
        UniqueConstraint("file_id", "label", name="uq_file_revisions_file_id_label"),
        # A version is released at most once (a new revision always reviews a newer head).
        UniqueConstraint("file_id", "version", name="uq_file_revisions_file_id_version"),
        Index("ix_file_revisions_commit_sha", "commit_sha"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    # 1 for the first revision (A or 1), never repeating and never going back for one file.
    seq: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    blob_sha: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    commit_sha: Mapped[str] = mapped_column(String(64))  # the released branch's commit that released it
    # release (through a review) | adopt (camvault release-all)
    action: Mapped[str] = mapped_column(String(16))
    released_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the commit's time
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_by_name: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default=text("'{}'"))


class Review(Base):
    """One submission of a file's head version for release, open until approved, rejected or withdrawn."""

    __tablename__ = "reviews"
    __table_args__ = (
        # At most one open review per file: the statement that opens a second one fails.
        Index("uq_reviews_open_file_id", "file_id", unique=True, postgresql_where=text("status = 'open'")),
        Index("ix_reviews_status_id", "status", "id"),
        Index("ix_reviews_submitted_by_id", "submitted_by", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default=ReviewStatus.open.value)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_by_name: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    comment: Mapped[str] = mapped_column(String(4000), server_default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_by_name: Mapped[str | None] = mapped_column(String(64))
    close_comment: Mapped[str] = mapped_column(String(4000), server_default="")
    # RELEASE_APPROVALS when it was submitted: every worker counts the same, whatever a restart changes meanwhile.
    approvals_required: Mapped[int] = mapped_column(Integer)
    revision_label: Mapped[str | None] = mapped_column(String(16))  # what it was released as


class ReviewApproval(Base):
    __tablename__ = "review_approvals"
    __table_args__ = (UniqueConstraint("review_id", "user_id", name="uq_review_approvals_review_id_user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_name: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    comment: Mapped[str] = mapped_column(String(4000), server_default="")
