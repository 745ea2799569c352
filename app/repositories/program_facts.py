"""Program facts of versions (table `version_facts`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, Select, func, literal, or_, select, tuple_
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

    async def lacking(
        self,
        extensions: Sequence[str],
        *,
        after: int = 0,
        limit: int = 100,
        made_between: tuple[datetime, datetime] | None = None,
        larger_than: int | None = None,
    ) -> list[VersionToParse]:
        """Versions at an NC path (by the extension of the path they were made at) with no facts, or facts of an
        older parser: the next `limit` by id after `after` (made in `made_between`, larger than `larger_than`
        bytes, when given)."""
        columns: Any = select(FileVersion.id, FileVersion.path, FileVersion.blob_sha, FileVersion.size)
        statement = self._lacking(
            columns,
            extensions,
            made_between=made_between,
            larger_than=larger_than,
        )
        rows = await self.session.execute(statement.where(FileVersion.id > after).order_by(FileVersion.id).limit(limit))
        return [VersionToParse(*row) for row in rows.all()]

    async def count_lacking(self, extensions: Sequence[str], *, made_before: datetime) -> int:
        """How many versions `lacking` would give, of those made before `made_before`."""
        statement = self._lacking(
            select(func.count()), extensions, made_between=(datetime.min.replace(tzinfo=UTC), made_before)
        )
        return int(await self.session.scalar(statement) or 0)

    @staticmethod
    def _lacking(
        statement: Select[Any],
        extensions: Sequence[str],
        *,
        made_between: tuple[datetime, datetime] | None,
        larger_than: int | None = None,
    ) -> Select[Any]:
        ends = [func.lower(FileVersion.path).endswith(e.lower(), autoescape=True) for e in extensions]
        statement = (
            statement.select_from(FileVersion)
            .outerjoin(VersionFacts, VersionFacts.version_id == FileVersion.id)
            .where(
                or_(*ends) if ends else literal(False),
                or_(VersionFacts.version_id.is_(None), VersionFacts.facts_version < FACTS_VERSION),
            )
        )
        if made_between is not None:
            statement = statement.where(
                FileVersion.created_at >= made_between[0], FileVersion.created_at < made_between[1]
            )
        if larger_than is not None:
            statement = statement.where(FileVersion.size > larger_than)
        return statement

    async def to_parse(self, version_ids: Sequence[int]) -> list[VersionToParse]:
        """These versions, those that still lack facts of the current parser, by id."""
        if not version_ids:
            return []
        rows = await self.session.execute(
            select(FileVersion.id, FileVersion.path, FileVersion.blob_sha, FileVersion.size)
            .outerjoin(VersionFacts, VersionFacts.version_id == FileVersion.id)
            .where(
                FileVersion.id.in_(version_ids),
                or_(VersionFacts.version_id.is_(None), VersionFacts.facts_version < FACTS_VERSION),
            )
            .order_by(FileVersion.id)
        )
        return [VersionToParse(*row) for row in rows.all()]
