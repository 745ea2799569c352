"""release lifecycle: file states and revisions, reviews and approvals, the approver flag

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

Existing installs migrate with every file in `wip` and no revision (nothing is on the floor until it is
released, through a review or `camvault release-all`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("is_approver", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_table(
        "file_revisions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("blob_sha", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("released_by_name", sa.String(length=64), nullable=False),
        sa.Column(
            "approved_by", postgresql.ARRAY(sa.String(length=64)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_file_revisions_file_id_files")),
        sa.ForeignKeyConstraint(["released_by"], ["users.id"], name=op.f("fk_file_revisions_released_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_revisions")),
        sa.UniqueConstraint("file_id", "seq", name="uq_file_revisions_file_id_seq"),
        sa.UniqueConstraint("file_id", "label", name="uq_file_revisions_file_id_label"),
        sa.UniqueConstraint("file_id", "version", name="uq_file_revisions_file_id_version"),
    )
    op.create_index("ix_file_revisions_commit_sha", "file_revisions", ["commit_sha"], unique=False)
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=False),
        sa.Column("submitted_by_name", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("comment", sa.String(length=4000), server_default="", nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_by_name", sa.String(length=64), nullable=True),
        sa.Column("close_comment", sa.String(length=4000), server_default="", nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("revision_label", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_reviews_file_id_files")),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"], name=op.f("fk_reviews_submitted_by_users")),
        sa.ForeignKeyConstraint(["closed_by"], ["users.id"], name=op.f("fk_reviews_closed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(
        "uq_reviews_open_file_id", "reviews", ["file_id"], unique=True, postgresql_where=sa.text("status = 'open'")
    )
    op.create_index("ix_reviews_status_id", "reviews", ["status", "id"], unique=False)
    op.create_index("ix_reviews_submitted_by_id", "reviews", ["submitted_by", "id"], unique=False)
    op.create_table(
        "review_approvals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("review_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("comment", sa.String(length=4000), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], name=op.f("fk_review_approvals_review_id_reviews")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_review_approvals_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_approvals")),
        sa.UniqueConstraint("review_id", "user_id", name="uq_review_approvals_review_id_user_id"),
    )
    # Every existing file starts as work in progress, with no revision.
    op.add_column("files", sa.Column("state", sa.String(length=16), server_default="wip", nullable=False))
    op.add_column("files", sa.Column("revision_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_files_revision_id_file_revisions", "files", "file_revisions", ["revision_id"], ["id"]
    )
    op.create_check_constraint("state", "files", "state IN ('wip', 'in_review', 'released', 'obsolete')")
    op.create_index("ix_files_state_path_id", "files", ["state", "path", "id"], unique=False)
    op.create_index(
        "ix_files_released_path_id",
        "files",
        ["path", "id"],
        unique=False,
        postgresql_where=sa.text("revision_id IS NOT NULL AND state <> 'obsolete' AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_files_released_path_id",
        table_name="files",
        postgresql_where=sa.text("revision_id IS NOT NULL AND state <> 'obsolete' AND deleted_at IS NULL"),
    )
    op.drop_index("ix_files_state_path_id", table_name="files")
    op.drop_constraint(op.f("ck_files_state"), "files", type_="check")
    op.drop_constraint("fk_files_revision_id_file_revisions", "files", type_="foreignkey")
    op.drop_column("files", "revision_id")
    op.drop_column("files", "state")
    op.drop_table("review_approvals")
    op.drop_index("ix_reviews_submitted_by_id", table_name="reviews")
    op.drop_index("ix_reviews_status_id", table_name="reviews")
    op.drop_index("uq_reviews_open_file_id", table_name="reviews", postgresql_where=sa.text("status = 'open'"))
    op.drop_table("reviews")
    op.drop_index("ix_file_revisions_commit_sha", table_name="file_revisions")
    op.drop_table("file_revisions")
    op.drop_column("users", "is_approver")
