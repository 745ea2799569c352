"""Data cards: the fields admins define, the values files and folders carry, and where-used links.

`card_values` holds every file's *effective* value of each field: its own (`source_folder` NULL) or the one
inherited from the nearest folder above it that has one (`source_folder` names that folder's key). Folder cards
themselves live in `folder_card_values`. Inherited rows are kept in step by the card service whenever a folder
card, a file's own value, or a file's place changes, so the listing filters and sorts on one indexed table
(docs/design.md, "Data cards"). Values are stored once as text (what people typed, canonical) and, for the
types that compare otherwise, also typed (number, date, bool) for ranges and sorting.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class FieldType(enum.StrEnum):
    text = "text"
    number = "number"
    date = "date"
    bool = "bool"
    choice = "choice"
    user = "user"


class CardField(Base):
    """A field of the data card, defined by an admin. Removing one sets `removed_at`: its values stay."""

    __tablename__ = "card_fields"
    __table_args__ = (
        UniqueConstraint("key", name="uq_card_fields_key"),
        CheckConstraint("type IN ('text', 'number', 'date', 'bool', 'choice', 'user')", name="type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default=text("'{}'"))
    required_for_release: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Lower-case extensions without the dot (`nc`, `pdf`); empty: every file.
    extensions: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
    # Folder path keys (`customers/acme`); empty: everywhere.
    folders: Mapped[list[str]] = mapped_column(ARRAY(String(1024)), server_default=text("'{}'"))
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardValue(Base):
    """A file's effective value of one field: its own, or inherited from `source_folder` (a folder key)."""

    __tablename__ = "card_values"
    __table_args__ = (
        # Filters: equality and choice (any case, so on value_lower), number and date ranges; and card sorts.
        Index("ix_card_values_field_lower_file", "field_id", "value_lower", "file_id"),
        Index("ix_card_values_field_num_file", "field_id", "value_num", "file_id"),
        Index("ix_card_values_field_date_file", "field_id", "value_date", "file_id"),
        # Substring search on card text (the search box and `has`), like path_key's.
        Index(
            "ix_card_values_text_trgm",
            "value_lower",
            postgresql_using="gin",
            postgresql_ops={"value_lower": "gin_trgm_ops"},
        ),
        # A folder card's change rewrites the rows it is the source of.
        Index("ix_card_values_source_folder", "source_folder", "field_id"),
    )

    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("card_fields.id"), primary_key=True)
    value_text: Mapped[str] = mapped_column(String(1000))
    value_lower: Mapped[str] = mapped_column(String(1000))
    value_num: Mapped[Decimal | None] = mapped_column(Numeric)
    value_date: Mapped[date | None] = mapped_column(Date)
    value_bool: Mapped[bool | None] = mapped_column(Boolean)
    source_folder: Mapped[str | None] = mapped_column(String(1024))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FolderCardValue(Base):
    """A folder's value of one field: the default for every file below the folder."""

    __tablename__ = "folder_card_values"

    folder_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("card_fields.id"), primary_key=True)
    folder_path: Mapped[str] = mapped_column(String(1024))
    value_text: Mapped[str] = mapped_column(String(1000))
    value_num: Mapped[Decimal | None] = mapped_column(Numeric)
    value_date: Mapped[date | None] = mapped_column(Date)
    value_bool: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FileLink(Base):
    """`source` uses `target` (a program uses a setup sheet). By file id: renames and deletes keep it."""

    __tablename__ = "file_links"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "kind", name="uq_file_links_source_target_kind"),
        Index("ix_file_links_target_id", "target_id"),
        CheckConstraint("kind IN ('uses')", name="kind"),
        CheckConstraint("source_id <> target_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    kind: Mapped[str] = mapped_column(String(16), server_default="uses")
    note: Mapped[str] = mapped_column(String(1000), server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
