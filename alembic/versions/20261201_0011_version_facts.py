"""version facts: the program facts of each NC version (issue 21)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:00:00

Existing versions get no row; `camvault reindex` computes their facts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_facts",
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("facts_version", sa.Integer(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["file_versions.id"],
            name=op.f("fk_version_facts_version_id_file_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_facts")),
    )


def downgrade() -> None:
    op.drop_table("version_facts")
