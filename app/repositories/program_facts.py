"""Program facts of versions (table `version_facts`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import FileVersion, VersionFacts
from app.nc import FACTS_VERSION


@dataclass(frozen=True)
class VersionToParse:
    id: int
    path: str
    blob_sha: str
    size: int


class VersionFactsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, version_id: int, facts: dict[str, Any]) -> None:
        self.session.add(VersionFacts(version_id=version_id, facts_version=FACTS_VERSION, facts=facts))

    async def put(self, version_id: int, facts: dict[str, Any]) -> None:
        """Store (or replace) a version's facts: a reindex racing a check-in of the same version stays one row."""
        statement = insert(VersionFacts).values(version_id=version_id, facts_version=FACTS_VERSION, facts=facts)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[VersionFacts.version_id],
                set_={"facts_version": statement.excluded.facts_version, "facts": statement.excluded.facts},
            )
        )

    async def of_version(self, file_id: int, version: int) -> dict[str, Any] | None:
        """The current facts of one version of a file (rows of an older parser count as none)."""
        found = await self.session.scalar(
            select(VersionFacts.facts)
            .join(FileVersion, FileVersion.id == VersionFacts.version_id)
            .where(
                FileVersion.file_id == file_id,
                FileVersion.version == version,
                VersionFacts.facts_version == FACTS_VERSION,
            )
        )
        return found

    async def of_versions(self, version_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not version_ids:
            return {}
        rows = await self.session.execute(
            select(VersionFacts.version_id, VersionFacts.facts).where(
                VersionFacts.version_id.in_(version_ids), VersionFacts.facts_version == FACTS_VERSION
            )
        )
        return {version_id: facts for version_id, facts in rows.all()}

    async def summaries(
        self, versions: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[int, float, float | None]]:
        """{(file id, version): (tools, cycle time, Z min)}, the listing's subset of its facts, read in the database
        (one statement)."""
        wanted = list(versions)
        if not wanted:
            return {}
        facts = VersionFacts.facts
        rows = await self.session.execute(
            select(
                FileVersion.file_id,
                FileVersion.version,
                func.jsonb_array_length(facts["tools"]).cast(Integer),
                facts["cycle_time_s"].astext.cast(Float),
                facts[("extents", "z", "min")].astext.cast(Float),
            )
            .join(VersionFacts, VersionFacts.version_id == FileVersion.id)
            .where(
                tuple_(FileVersion.file_id, FileVersion.version).in_(wanted),
                VersionFacts.facts_version == FACTS_VERSION,
            )
        )
        return {(f, v): (tools, cycle, z) for f, v, tools, cycle, z in rows.all()}

    async def lacking(self, extensions: Sequence[str], *, after: int = 0, limit: int = 100) -> list[VersionToParse]:
        """Versions at an NC path (by the extension of the path they were made at) with no facts, or facts of an
        older parser: the next `limit` by id after `after`."""
        ends = [func.lower(FileVersion.path).endswith(e.lower(), autoescape=True) for e in extensions]
        rows = await self.session.execute(
            select(FileVersion.id, FileVersion.path, FileVersion.blob_sha, FileVersion.size)
            .outerjoin(VersionFacts, VersionFacts.version_id == FileVersion.id)
            .where(
                FileVersion.id > after,
                or_(*ends) if ends else literal(False),
                or_(VersionFacts.version_id.is_(None), VersionFacts.facts_version < FACTS_VERSION),
            )
            .order_by(FileVersion.id)
            .limit(limit)
        )
        return [VersionToParse(*row) for row in rows.all()]
