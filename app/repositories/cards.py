"""SQL of data cards: field definitions, effective values (own and inherited), folder cards, links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, any_, cast, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import aliased

from app.models import AuditEvent, CardField, CardValue, File, FileLink, FolderCardValue, User
from app.repositories.base import Repository
from app.services.card_types import Stored, stored_row
from app.services.paths import folders_above


@dataclass(frozen=True)
class Span:
    """A stretch of a file's life in one place: the keys of the folders above it, from `since` until `until`
    (None: now)."""

    folder_keys: Sequence[str]
    since: datetime
    until: datetime | None


class CardFieldRepository(Repository[CardField]):
    model = CardField

    async def listed(self, *, include_removed: bool = False) -> Sequence[CardField]:
        stmt = select(CardField).order_by(CardField.position, CardField.id)
        if not include_removed:
            stmt = stmt.where(CardField.removed_at.is_(None))
        return (await self.session.execute(stmt)).scalars().all()

    async def by_key(self, key: str, *, for_update: bool = False) -> CardField | None:
        stmt = select(CardField).where(CardField.key == key)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[int]) -> dict[int, CardField]:
        rows = await self.session.execute(select(CardField).where(CardField.id.in_(list(ids))))
        return {f.id: f for f in rows.scalars()}

    async def usernames(self, names: Sequence[str]) -> dict[str, str]:
        """lower(name) -> the username, for the names that are accounts (a `user` field's values)."""
        lowered = sorted({n.lower() for n in names})
        if not lowered:
            return {}
        rows = await self.session.execute(select(User.username).where(func.lower(User.username).in_(lowered)))
        return {name.lower(): name for (name,) in rows}


class CardValueRepository(Repository[CardValue]):
    model = CardValue

    async def of_file(self, file_id: int) -> Sequence[CardValue]:
        stmt = select(CardValue).where(CardValue.file_id == file_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def of_files(self, file_ids: Sequence[int]) -> dict[int, list[CardValue]]:
        found: dict[int, list[CardValue]] = {i: [] for i in file_ids}
        if not file_ids:
            return found
        # One array parameter however many files (a CSV import's tens of thousands; IN would need one each).
        stmt = select(CardValue).where(CardValue.file_id == any_(cast(list(file_ids), ARRAY(Integer))))
        for value in (await self.session.execute(stmt)).scalars():
            found[value.file_id].append(value)
        return found

    async def set_own(self, values: Sequence[tuple[int, int, Stored]], user_id: int) -> None:
        """Set files' own values ((file id, field id, value), each pair once), in one statement however many."""
        if not values:
            return
        statement = text(
            "INSERT INTO card_values AS c (file_id, field_id, value_text, value_lower, value_num, value_date, "
            "value_bool, source_folder, updated_by, updated_at) "
            "SELECT v.file_id, v.field_id, v.t, lower(v.t), v.n, v.d, v.b, NULL, :user_id, now() "
            "FROM unnest(CAST(:files AS integer[]), CAST(:fields AS integer[]), CAST(:texts AS varchar[]), "
            "CAST(:nums AS numeric[]), CAST(:days AS date[]), CAST(:flags AS boolean[])) "
            "AS v(file_id, field_id, t, n, d, b) "
            "ON CONFLICT (file_id, field_id) DO UPDATE SET value_text = excluded.value_text, "
            "value_lower = excluded.value_lower, value_num = excluded.value_num, value_date = excluded.value_date, "
            "value_bool = excluded.value_bool, source_folder = NULL, updated_by = excluded.updated_by, "
            "updated_at = now()"
        )
        params = {
            "user_id": user_id,
            "files": [file_id for file_id, _, _ in values],
            "fields": [field_id for _, field_id, _ in values],
            "texts": [v.text for _, _, v in values],
            "nums": [v.num for _, _, v in values],
            "days": [v.day for _, _, v in values],
            "flags": [v.flag for _, _, v in values],
        }
        await self.session.execute(statement, params)

    async def clear_own(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Files' own values go ((file id, field id) pairs); what their folders say, if anything, is their value
        again."""
        if not pairs:
            return
        await self.session.execute(
            text(
                "DELETE FROM card_values WHERE (file_id, field_id) IN "
                "(SELECT * FROM unnest(CAST(:files AS integer[]), CAST(:fields AS integer[])))"
            ),
            {"files": [f for f, _ in pairs], "fields": [k for _, k in pairs]},
        )
        await self.inherit(sorted({f for f, _ in pairs}))

    async def inherit(
        self, file_ids: Sequence[int] | None = None, *, under: str | None = None, field_id: int | None = None
    ) -> int:
        """Give files without a value of a field the value of the nearest folder above them that has one.

        Files are named by id or by a folder key they are under (deleted files too: a restore needs nothing).
        Returns how many values were added.
        """
        conditions = ["NOT EXISTS (SELECT 1 FROM card_values c WHERE c.file_id = f.id AND c.field_id = v.field_id)"]
        params: dict[str, Any] = {}
        if file_ids is not None:
            conditions.append("f.id = ANY(CAST(:ids AS integer[]))")
            params["ids"] = list(file_ids)
        if under is not None:
            conditions.append("left(f.path_key, :prefix_len) = :prefix")
            params |= {"prefix": under + "/", "prefix_len": len(under) + 1}
        if field_id is not None:
            conditions.append("v.field_id = :field_id")
            params["field_id"] = field_id
        # The nearest folder wins: the longest key that is a folder of the file's path.
        # Only fixed fragments are joined in; every value is a parameter.
        statement = text(
            "INSERT INTO card_values (file_id, field_id, value_text, value_lower, value_num, value_date, value_bool, "  # noqa: S608
            "source_folder, updated_by, updated_at) "
            "SELECT DISTINCT ON (f.id, v.field_id) f.id, v.field_id, v.value_text, lower(v.value_text), v.value_num, "
            "v.value_date, v.value_bool, v.folder_key, v.updated_by, v.updated_at "
            "FROM files f JOIN folder_card_values v "
            "ON left(f.path_key, length(v.folder_key) + 1) = v.folder_key || '/' "
            f"WHERE {' AND '.join(conditions)} "
            "ORDER BY f.id, v.field_id, length(v.folder_key) DESC "
            "ON CONFLICT (file_id, field_id) DO NOTHING"
        )
        result = await self.session.execute(statement, params)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def forget_inherited(self, file_ids: Sequence[int]) -> None:
        """Drop the inherited values of files that moved (`inherit` then gives them their new folders')."""
        await self.session.execute(
            delete(CardValue).where(CardValue.file_id.in_(list(file_ids)), CardValue.source_folder.is_not(None))
        )

    async def spread(self, folder_key: str, field_id: int, value: Stored) -> int:
        """A folder's new value reaches every file below it that has no value of its own and none from a folder
        nearer to it. Returns how many files now inherit it."""
        statement = text(
            "INSERT INTO card_values AS c (file_id, field_id, value_text, value_lower, value_num, value_date, "
            "value_bool, source_folder, updated_by, updated_at) "
            "SELECT f.id, :field_id, CAST(:text AS varchar), lower(CAST(:text AS varchar)), CAST(:num AS numeric), "
            "CAST(:day AS date), CAST(:flag AS boolean), CAST(:folder AS varchar), NULL, now() FROM files f "
            "WHERE left(f.path_key, :prefix_len) = :prefix "
            "ON CONFLICT (file_id, field_id) DO UPDATE SET value_text = excluded.value_text, "
            "value_lower = excluded.value_lower, value_num = excluded.value_num, value_date = excluded.value_date, "
            "value_bool = excluded.value_bool, source_folder = excluded.source_folder, updated_at = now() "
            "WHERE c.source_folder IS NOT NULL AND length(c.source_folder) <= length(excluded.source_folder)"
        )
        params = {
            "field_id": field_id,
            "text": value.text,
            "num": value.num,
            "day": value.day,
            "flag": value.flag,
            "folder": folder_key,
            "prefix": folder_key + "/",
            "prefix_len": len(folder_key) + 1,
        }
        result = await self.session.execute(statement, params)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def withdraw(self, folder_key: str, field_id: int) -> int:
        """A folder's value is gone: the files that inherited it inherit from the next folder up, or nothing."""
        result = await self.session.execute(
            delete(CardValue).where(CardValue.source_folder == folder_key, CardValue.field_id == field_id)
        )
        await self.inherit(under=folder_key, field_id=field_id)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def history(self, file_id: int, *, action: str, limit: int) -> Sequence[AuditEvent]:
        """The file's own card changes (audit rows of `action`), newest first: read from the audit log, for
        display (no rule reads it)."""
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.file_id == file_id, AuditEvent.action == action)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def first_event_at(self, file_id: int) -> datetime | None:
        """When the file's first audit row was written: the write that made it (its upload)."""
        stmt = select(func.min(AuditEvent.at)).where(AuditEvent.file_id == file_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def moves(self, file_id: int, *, action: str) -> Sequence[tuple[datetime, str]]:
        """When the file moved and where from (audit rows of `action`), oldest first: the places it has been."""
        stmt = (
            select(AuditEvent.at, AuditEvent.details["old_path"].astext)
            .where(AuditEvent.file_id == file_id, AuditEvent.action == action)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return [(at, old) for at, old in (await self.session.execute(stmt)).all()]

    async def folder_history(self, spans: Sequence[Span], *, action: str, limit: int) -> Sequence[AuditEvent]:
        """Changes of the cards of folders (audit rows of `action`), newest first: those of each span's folders
        made in its time."""
        # Rows written before folder card changes named their folder's key: their lower-cased target.
        folder_key = func.coalesce(AuditEvent.details["folder_key"].astext, func.lower(AuditEvent.target))
        matches = []
        for span in spans:
            if not span.folder_keys:
                continue
            condition = folder_key.in_(list(span.folder_keys)) & (AuditEvent.at >= span.since)
            if span.until is not None:
                condition &= AuditEvent.at < span.until
            matches.append(condition)
        if not matches:
            return []
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.action == action, or_(*matches))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


class FolderCardRepository(Repository[FolderCardValue]):
    model = FolderCardValue

    async def of_folder(self, folder_key: str) -> Sequence[FolderCardValue]:
        stmt = select(FolderCardValue).where(FolderCardValue.folder_key == folder_key)
        return (await self.session.execute(stmt)).scalars().all()

    async def under(self, folder_key: str) -> Sequence[FolderCardValue]:
        """The card values of a folder and of every folder inside it."""
        stmt = select(FolderCardValue).where(
            (FolderCardValue.folder_key == folder_key)
            | FolderCardValue.folder_key.startswith(folder_key + "/", autoescape=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def above(self, path_key: str) -> Sequence[FolderCardValue]:
        """The folder values of every folder above a path (or folder) key, nearest last."""
        keys = folders_above(path_key)
        if not keys:
            return []
        stmt = select(FolderCardValue).where(FolderCardValue.folder_key.in_(keys))
        rows = (await self.session.execute(stmt)).scalars().all()
        return sorted(rows, key=lambda v: len(v.folder_key))

    async def put(self, folder_key: str, folder_path: str, field_id: int, value: Stored, user_id: int) -> None:
        row = {
            "folder_key": folder_key,
            "field_id": field_id,
            "folder_path": folder_path,
            **stored_row(value),
            "updated_by": user_id,
            "updated_at": func.now(),
        }
        stmt = insert(FolderCardValue).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[FolderCardValue.folder_key, FolderCardValue.field_id],
            set_={k: stmt.excluded[k] for k in row if k not in ("folder_key", "field_id")},
        )
        await self.session.execute(stmt)

    async def remove(self, folder_key: str, field_id: int) -> None:
        await self.session.execute(
            delete(FolderCardValue).where(
                FolderCardValue.folder_key == folder_key, FolderCardValue.field_id == field_id
            )
        )

    async def move(self, old_key: str, new_key: str, new_path: str) -> None:
        """A folder moved: its card and the cards of the folders inside it move with it (component by component:
        a key and its path may differ in length, casefolding can change a name's)."""
        depth = old_key.count("/") + 1
        for row in await self.under(old_key):
            rest_key = row.folder_key.split("/")[depth:]
            rest_path = row.folder_path.split("/")[depth:]
            row.folder_key = "/".join([new_key, *rest_key])
            row.folder_path = "/".join([new_path, *rest_path])
        await self.session.flush()


class LinkRepository(Repository[FileLink]):
    model = FileLink

    async def get_for(self, source_id: int, link_id: int) -> FileLink | None:
        stmt = select(FileLink).where(FileLink.id == link_id, FileLink.source_id == source_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find(self, source_id: int, target_id: int, kind: str) -> FileLink | None:
        stmt = select(FileLink).where(
            FileLink.source_id == source_id, FileLink.target_id == target_id, FileLink.kind == kind
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def remove(self, link: FileLink) -> None:
        await self.session.delete(link)
        await self.session.flush()

    async def uses(self, file_id: int) -> Sequence[tuple[FileLink, File]]:
        """What the file uses, with each target file (deleted ones too)."""
        stmt = (
            select(FileLink, File)
            .join(File, File.id == FileLink.target_id)
            .where(FileLink.source_id == file_id)
            .order_by(File.sort_key, FileLink.id)
        )
        return [(link, file) for link, file in (await self.session.execute(stmt)).all()]

    async def used_by(self, file_id: int) -> Sequence[tuple[FileLink, File]]:
        stmt = (
            select(FileLink, File)
            .join(File, File.id == FileLink.source_id)
            .where(FileLink.target_id == file_id)
            .order_by(File.sort_key, FileLink.id)
        )
        return [(link, file) for link, file in (await self.session.execute(stmt)).all()]

    async def released_users(self, file_id: int) -> Sequence[File]:
        """Live files on the floor (a current revision, not obsolete) that use this one."""
        source = aliased(File)
        stmt = (
            select(source)
            .join(FileLink, FileLink.source_id == source.id)
            .where(
                FileLink.target_id == file_id,
                source.deleted_at.is_(None),
                source.revision_id.is_not(None),
                source.state != "obsolete",
            )
            .order_by(source.sort_key)
        )
        return (await self.session.execute(stmt)).scalars().all()
