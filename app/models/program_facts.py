"""The program facts of an NC version (app/nc), computed once when the version is made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class VersionFacts(Base):
    """One row per version of an NC program whose facts are known; none for other files (or binary ones).

    A table of its own rather than a column of `file_versions`: history pages, check-ins and reindex read
    versions without the facts, "lacking facts" is a missing row (`camvault reindex` fills them), and a
    version's row is never rewritten to add them.
    """

    __tablename__ = "version_facts"

    version_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("file_versions.id", ondelete="CASCADE"), primary_key=True
    )
    # app.nc.FACTS_VERSION when computed: a row older than the parser's is recomputed by `camvault reindex`.
    facts_version: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB)
