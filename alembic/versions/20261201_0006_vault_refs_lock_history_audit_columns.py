"""vault_refs (the commit point), lock_history (state the lost-lock rule reads), audit file/subject columns

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No row yet: the first start (or the first write) adopts the Git ref as it finds it.
    op.create_table(
        "vault_refs",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_vault_refs")),
    )
    op.create_table(
        "lock_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_lock_history_file_id_files")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_lock_history_user_id_users")),
        sa.ForeignKeyConstraint(["ended_by"], ["users.id"], name=op.f("fk_lock_history_ended_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lock_history")),
    )
    op.create_index("ix_lock_history_file_id_user_id_id", "lock_history", ["file_id", "user_id", "id"], unique=False)
    op.create_index(
        "uq_lock_history_open_file_id",
        "lock_history",
        ["file_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    # Every check-out open now gets its open history row, so its end is recorded like any other.
    op.execute(
        "INSERT INTO lock_history (file_id, user_id, message, acquired_at) "
        "SELECT file_id, user_id, message, acquired_at FROM locks"
    )
    # Older rows keep NULL here (the audit table refuses updates); their details still name the file.
    op.add_column("audit_events", sa.Column("file_id", sa.Integer(), nullable=True))
    op.add_column("audit_events", sa.Column("subject_user_id", sa.Integer(), nullable=True))
    op.create_index("ix_audit_events_file_id_at", "audit_events", ["file_id", "at"], unique=False)
    op.create_index("ix_audit_events_subject_user_id_at", "audit_events", ["subject_user_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_events_subject_user_id_at", table_name="audit_events")
    op.drop_index("ix_audit_events_file_id_at", table_name="audit_events")
    op.drop_column("audit_events", "subject_user_id")
    op.drop_column("audit_events", "file_id")
    op.drop_index("uq_lock_history_open_file_id", table_name="lock_history", postgresql_where=sa.text("ended_at IS NULL"))
    op.drop_index("ix_lock_history_file_id_user_id_id", table_name="lock_history")
    op.drop_table("lock_history")
    op.drop_table("vault_refs")
