"""data cards: fields, file and folder values, where-used links; the starting set of fields

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:00:00

The starting fields (part_number, customer, machine, material, operation, description) are ordinary rows an
admin may edit or remove. Existing files start with empty cards.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STARTING_FIELDS = [
    ("part_number", "Part number", "text"),
    ("customer", "Customer", "text"),
    ("machine", "Machine", "choice"),
    ("material", "Material", "text"),
    ("operation", "Operation", "text"),
    ("description", "Description", "text"),
]


def upgrade() -> None:
    fields = op.create_table(
        "card_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("choices", postgresql.ARRAY(sa.String(length=200)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("required_for_release", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("extensions", postgresql.ARRAY(sa.String(length=32)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("folders", postgresql.ARRAY(sa.String(length=1024)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "type IN ('text', 'number', 'date', 'bool', 'choice', 'user')", name=op.f("ck_card_fields_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_fields")),
        sa.UniqueConstraint("key", name="uq_card_fields_key"),
    )
    op.create_table(
        "card_values",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value_text", sa.String(length=1000), nullable=False),
        sa.Column("value_lower", sa.String(length=1000), nullable=False),
        sa.Column("value_num", sa.Numeric(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.Column("source_folder", sa.String(length=1024), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["field_id"], ["card_fields.id"], name=op.f("fk_card_values_field_id_card_fields")),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_card_values_file_id_files")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_card_values_updated_by_users")),
        sa.PrimaryKeyConstraint("file_id", "field_id", name=op.f("pk_card_values")),
    )
    op.create_index("ix_card_values_field_lower_file", "card_values", ["field_id", "value_lower", "file_id"])
    op.create_index("ix_card_values_field_num_file", "card_values", ["field_id", "value_num", "file_id"])
    op.create_index("ix_card_values_field_date_file", "card_values", ["field_id", "value_date", "file_id"])
    op.create_index(
        "ix_card_values_text_trgm",
        "card_values",
        ["value_lower"],
        postgresql_using="gin",
        postgresql_ops={"value_lower": "gin_trgm_ops"},
    )
    op.create_index("ix_card_values_source_folder", "card_values", ["source_folder", "field_id"])
    op.create_table(
        "folder_card_values",
        sa.Column("folder_key", sa.String(length=1024), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("folder_path", sa.String(length=1024), nullable=False),
        sa.Column("value_text", sa.String(length=1000), nullable=False),
        sa.Column("value_num", sa.Numeric(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("value_bool", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["field_id"], ["card_fields.id"], name=op.f("fk_folder_card_values_field_id_card_fields")
        ),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_folder_card_values_updated_by_users")),
        sa.PrimaryKeyConstraint("folder_key", "field_id", name=op.f("pk_folder_card_values")),
    )
    op.create_table(
        "file_links",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="uses", nullable=False),
        sa.Column("note", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('uses')", name=op.f("ck_file_links_kind")),
        sa.CheckConstraint("source_id <> target_id", name=op.f("ck_file_links_not_self")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_file_links_created_by_users")),
        sa.ForeignKeyConstraint(["source_id"], ["files.id"], name=op.f("fk_file_links_source_id_files")),
        sa.ForeignKeyConstraint(["target_id"], ["files.id"], name=op.f("fk_file_links_target_id_files")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_links")),
        sa.UniqueConstraint("source_id", "target_id", "kind", name="uq_file_links_source_target_kind"),
    )
    op.create_index("ix_file_links_target_id", "file_links", ["target_id"])
    op.bulk_insert(
        fields,
        [
            {"key": key, "label": label, "type": type_, "position": (i + 1) * 10}
            for i, (key, label, type_) in enumerate(STARTING_FIELDS)
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_file_links_target_id", table_name="file_links")
    op.drop_table("file_links")
    op.drop_table("folder_card_values")
    op.drop_index("ix_card_values_source_folder", table_name="card_values")
    op.drop_index("ix_card_values_text_trgm", table_name="card_values", postgresql_using="gin")
    op.drop_index("ix_card_values_field_date_file", table_name="card_values")
    op.drop_index("ix_card_values_field_num_file", table_name="card_values")
    op.drop_index("ix_card_values_field_lower_file", table_name="card_values")
    op.drop_table("card_values")
    op.drop_table("card_fields")
