"""files.path_key trigram index: search without reading every path

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_files_path_key_trgm",
        "files",
        ["path_key"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"path_key": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_files_path_key_trgm", table_name="files", postgresql_using="gin")
    # The extension stays: something else in the database may use it, and it costs nothing unused.
