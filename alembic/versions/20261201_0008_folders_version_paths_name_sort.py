"""folders (empty folders live in the catalog), the path of each version (renames), the natural name sort key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.services.paths import name_sort_key

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("path_key", sa.String(length=1024), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_folders_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folders")),
    )
    op.create_index("uq_folders_path_key", "folders", ["path_key"], unique=True)

    # No file was ever renamed before this revision: every version was made at its file's path.
    op.add_column("file_versions", sa.Column("path", sa.String(length=1024), nullable=True))
    op.execute("UPDATE file_versions v SET path = f.path FROM files f WHERE f.id = v.file_id")
    op.alter_column("file_versions", "path", nullable=False)

    # The key is computed in Python (the same function the app uses), a batch at a time.
    op.add_column("files", sa.Column("sort_key", sa.String(length=1600, collation="C"), nullable=True))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, path_key FROM files WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text("UPDATE files SET sort_key = :key WHERE id = :id"),
            [{"id": file_id, "key": name_sort_key(key)} for file_id, key in rows],
        )
        last = rows[-1][0]
    op.alter_column("files", "sort_key", nullable=False)
    op.create_index("ix_files_sort_key_id", "files", ["sort_key", "id"], unique=False)
    op.drop_index("ix_files_path_id", table_name="files")


def downgrade() -> None:
    op.create_index("ix_files_path_id", "files", ["path", "id"], unique=False)
    op.drop_index("ix_files_sort_key_id", table_name="files")
    op.drop_column("files", "sort_key")
    op.drop_column("file_versions", "path")
    op.drop_index("uq_folders_path_key", table_name="folders")
    op.drop_table("folders")
