"""Data cards: the values of files and folders, their inheritance, history and bulk changes.

Every change of a card is a vault write without a Git commit (app/vault/pipeline.py): the file's path (or the
folder's) is locked, the file's row FOR UPDATE, the values written, and one `CardChanged` (or
`FolderCardChanged`) journal entry per card, with old and new values, is the audit row and the live event.
`apply` is the one way values reach a file's card: the card editor, `card.<key>` form fields of upload and
check-in (inside their own write), bulk set and CSV import all go through it, so every way in validates,
audits and inherits the same.

A file's effective values are materialised in `card_values` (own, or inherited with the folder they come
from), so listings filter and sort on one indexed table; `spread`, `withdraw` and `inherit` keep the inherited
ones in step when a folder card changes, a file is added, or files move.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import BadRequest, NotFound
from app.journal.cards import CardChanged, Changes, FolderCardChanged
from app.journal.vault import FileMoved
from app.models import CardField, CardValue, File, Folder, FolderCardValue, User
from app.repositories.cards import CardFieldRepository, CardValueRepository, FolderCardRepository, Span
from app.repositories.files import FileRepository
from app.repositories.folders import FolderRepository
from app.schemas.card import (
    BulkOut,
    CardChangeOut,
    CardHistory,
    CardOut,
    CardValueOut,
    FileCardChange,
    FolderCardOut,
)
from app.services import roles
from app.services.card_types import Stored, applies, invalid, parse
from app.services.paths import folders_above, normalise_folder, path_key
from app.services.visibility import require_visible, view_of
from app.vault.pipeline import Vault, VaultWrite

logger = logging.getLogger(__name__)

CARD_PREFIX = "card."


def card_form_values(fields: Mapping[str, str]) -> dict[str, str]:
    """The `card.<key>` fields of a multipart form (upload, check-in), by key."""
    return {name.removeprefix(CARD_PREFIX): value for name, value in fields.items() if name.startswith(CARD_PREFIX)}


@dataclass(frozen=True)
class Parsed:
    field: CardField
    value: Stored | None  # None: clear


@dataclass(frozen=True)
class Planned:
    """A file's validated values, and its card as it is (None: read it) when the caller read many at once."""

    file: File
    parsed: Sequence[Parsed]
    current: Sequence[CardValue] | None = None


# A bulk change logs each file up to this many, then one line with the count.
MAX_LOGGED = 20


class CardService:
    def __init__(self, session: AsyncSession, settings: Settings, vault: Vault) -> None:
        self.session = session
        self.settings = settings
        self.vault = vault
        self.fields = CardFieldRepository(session)
        self.values = CardValueRepository(session)
        self.folder_values = FolderCardRepository(session)
        self.files = FileRepository(session)
        self._known: dict[str, CardField] | None = None

    # -- reading -------------------------------------------------------------------------------

    async def card(self, file_id: int, user: User) -> CardOut:
        view = view_of(user, self.settings)
        row = require_visible(await self.files.row(file_id), view, file_id, include_deleted=roles.is_admin(user))
        return await self._card_out(row.file)

    async def folder_card(self, folder: str, user: User) -> FolderCardOut:
        roles.require(user, roles.READERS)
        path = self._folder(folder)
        return await self._folder_out(path)

    async def history(self, file_id: int, user: User, *, limit: int = 200) -> CardHistory:
        """The file's card changes, newest first (the audit rows' old and new values): its own card's, and
        those of the cards of the folders it was in at the time (what it inherits), each naming its folder."""
        view = view_of(user, self.settings)
        row = require_visible(await self.files.row(file_id), view, file_id, include_deleted=roles.is_admin(user))
        own = await self.values.history(file_id, action=CardChanged.action, limit=limit)
        spans = await self._places(row.file)
        inherited = await self.values.folder_history(spans, action=FolderCardChanged.action, limit=limit)
        events = sorted([*own, *inherited], key=lambda e: (e.at, e.id), reverse=True)[:limit]
        items = [
            CardChangeOut(
                at=e.at,
                user=e.actor_name,
                action=e.action,
                via=e.details.get("via"),
                inherited_from=e.target if e.action == FolderCardChanged.action else None,
                changes=e.details.get("changes", {}),
            )
            for e in events
        ]
        return CardHistory(path=row.file.path, items=items)

    async def _places(self, file: File) -> list[Span]:
        """Where the file has been since it was made: one span per place, its moves in between."""
        spans = []
        # Not `created_at`: that is the commit's time, in whole seconds, and so may come before a folder change
        # made in the same second but before the file existed.
        since = await self.values.first_event_at(file.id) or file.created_at
        for at, old_path in await self.values.moves(file.id, action=FileMoved.action):
            spans.append(Span(folders_above(path_key(old_path)), since, at))
            since = at
        spans.append(Span(folders_above(file.path_key), since, None))
        return spans

    async def page_values(self, file_ids: Sequence[int]) -> dict[str, dict[str, str]]:
        """The card values of a listing's page (file id → key → value), for its card columns."""
        keys = {f.id: f.key for f in await self.fields.listed()}
        found = await self.values.of_files(file_ids)
        return {
            str(file_id): {keys[v.field_id]: v.value_text for v in values if v.field_id in keys}
            for file_id, values in found.items()
            if values
        }

    # -- writing -------------------------------------------------------------------------------

    async def set_card(self, file_id: int, user: User, raw: Mapping[str, Any], *, via: str = "edit") -> CardOut:
        """Set (or clear, with null or "") values on a file's card. No check-out needed: the card is not the
        file's bytes. 422 naming the field for a bad value; nothing changes then."""
        roles.require(user, roles.WRITERS, "Viewers can read cards but not change them")
        async with self.vault.write() as w:
            key = await self.files.live_key_of(file_id)
            if key is None:
                raise NotFound(f"File {file_id} not found")
            await w.lock_paths([key])
            file = await self.files.get_for_update(file_id)
            if file is None or file.deleted_at is not None:
                raise NotFound(f"File {file_id} not found")
            await self.apply(w, file, user, raw, via=via)
            out = await self._card_out(file)
        return out

    async def apply(self, w: VaultWrite, file: File, user: User, raw: Mapping[str, Any], *, via: str) -> Changes:
        """Inside a write that holds the file's row: validate every value first (422 naming the field, nothing
        written), then write the changed ones and journal them as one entry. Returns the changes."""
        parsed = await self.parse(raw, file.path_key)
        return await self.write(w, file, user, parsed, via=via)

    async def parse(self, raw: Mapping[str, Any], target_key: str | None) -> list[Parsed]:
        """Validate values for a card (`target_key`: the file's path key, which the fields must apply to;
        None: a folder's card, where every field may be set)."""
        if not raw:
            return []
        if self._known is None:  # once per request: a bulk set or an import parses a card per file
            self._known = {f.key: f for f in await self.fields.listed()}
        known = self._known
        unknown = sorted(k for k in raw if k not in known)
        if unknown:
            raise BadRequest({"message": f"No such card field: {', '.join(unknown)}", "fields": unknown})
        names = [str(v) for k, v in raw.items() if known[k].type == "user" and isinstance(v, str)]
        usernames = await self.fields.usernames(names)
        parsed = []
        for key in sorted(raw, key=lambda k: (known[k].position, known[k].id)):
            field = known[key]
            value = parse(field, raw[key], lambda name: usernames.get(name.lower()))
            if value is not None and target_key is not None and not applies(field, target_key):
                raise invalid(field, "this field is not on this file's card (its extensions or folders)")
            parsed.append(Parsed(field, value))
        return parsed

    async def write(self, w: VaultWrite, file: File, user: User, parsed: Sequence[Parsed], *, via: str) -> Changes:
        """Write validated values that differ from the file's own, and journal them as one entry."""
        written = await self.write_many(w, user, [Planned(file, parsed)], via=via)
        return written[0][1] if written else {}

    async def write_many(
        self, w: VaultWrite, user: User, planned: Sequence[Planned], *, via: str
    ) -> list[tuple[File, Changes]]:
        """`write` for many files (a bulk set, a CSV import of a part list): the changed values in one statement
        per kind and one journal entry per changed file, all appended at once. Returns the changed files."""
        sets: list[tuple[int, int, Stored]] = []
        clears: list[tuple[int, int]] = []
        written: list[tuple[File, Changes]] = []
        for plan in planned:
            changes = await self.preview(plan.file, plan.parsed, plan.current)
            if not changes:
                continue
            for item in plan.parsed:
                if item.field.key not in changes:
                    continue
                if item.value is None:
                    clears.append((plan.file.id, item.field.id))
                else:
                    sets.append((plan.file.id, item.field.id, item.value))
            written.append((plan.file, changes))
        await self.values.set_own(sets, user.id)
        await self.values.clear_own(clears)  # what the files' folders say (if anything) is their value again
        entries = [
            CardChanged(file_id=f.id, path=f.path, user=user.username, fields=list(c), changes=c, via=via)
            for f, c in written
        ]
        await w.journal_many(entries, actor=user)
        for file, changes in written[:MAX_LOGGED]:
            logger.info("card changed path=%s user=%s fields=%s via=%s", file.path, user.username, list(changes), via)
        if len(written) > MAX_LOGGED:
            logger.info("cards changed files=%d user=%s via=%s", len(written), user.username, via)
        return written

    async def preview(
        self, file: File, parsed: Sequence[Parsed], current: Sequence[CardValue] | None = None
    ) -> Changes:
        """What `write` would change on the file's own card (a dry run)."""
        values = current if current is not None else await self.values.of_file(file.id)
        current_by_field = {v.field_id: v for v in values}
        changes: Changes = {}
        for item in parsed:
            before = current_by_field.get(item.field.id)
            old = before.value_text if before is not None and before.source_folder is None else None
            new = item.value.text if item.value is not None else None
            if old != new:
                changes[item.field.key] = {"old": old, "new": new}
        return changes

    async def set_folder_card(self, folder: str, user: User, raw: Mapping[str, Any]) -> FolderCardOut:
        """Set (or clear) a folder's card: the defaults of every file below it (a file's own value wins).

        A folder given a value is kept (a `folders` row, as *New folder* makes): when its last file is deleted
        or moved away it stays listed with its card, so the card never applies unseen to files put there later,
        and deleting the folder deletes its card (`after_folder_deleted`)."""
        roles.require(user, roles.WRITERS, "Viewers can read cards but not change them")
        path = self._folder(folder)
        key = path_key(path)
        parsed = await self.parse(raw, None)
        folders = FolderRepository(self.session)
        async with self.vault.write() as w:
            # Exclusive on the folder: uploads and card edits inside it (which take it shared) wait.
            await w.lock_paths([key])
            kept = await folders.get_by_key(key) is not None
            if not kept and not await self.files.any_live_under(key):
                raise NotFound(f"No folder {path!r}")
            current = {v.field_id: v for v in await self.folder_values.of_folder(key)}
            changes: Changes = {}
            touched = 0
            for item in parsed:
                before = current.get(item.field.id)
                old = before.value_text if before is not None else None
                new = item.value.text if item.value is not None else None
                if old == new:
                    continue
                if item.value is None:
                    touched += await self._clear_folder_value(key, item.field.id)
                else:
                    await self.folder_values.put(key, path, item.field.id, item.value, user.id)
                    touched += await self.values.spread(key, item.field.id, item.value)
                changes[item.field.key] = {"old": old, "new": new}
            if not kept and any(v["new"] is not None for v in changes.values()):
                self.session.add(Folder(path=path, path_key=key, created_by=user.id))
                await self.session.flush()
            if changes:
                await self._journal_folder(w, user, path, key, changes, touched, via="edit")
            out = await self._folder_out(path)
        logger.info(
            "folder card changed folder=%s user=%s fields=%s files=%d", path, user.username, list(changes), touched
        )
        return out

    async def bulk(
        self,
        user: User,
        *,
        file_ids: Sequence[int] | None,
        folder: str | None,
        raw: Mapping[str, Any],
        via: str = "bulk",
    ) -> BulkOut:
        """Set the same values on many files in one transaction: every file's values are checked before any is
        written, and one bad value (or a missing file) changes nothing."""
        roles.require(user, roles.WRITERS, "Viewers can read cards but not change them")
        if (file_ids is None) == (folder is None):
            raise BadRequest("Give either file_ids or folder")
        if not raw:
            raise BadRequest("No values to set")
        async with self.vault.write() as w:
            if folder is not None:
                key = path_key(self._folder(folder))
                await w.lock_paths([key])
                files = list(await self.files.live_under_for_update(key))
            else:
                ids = sorted(set(file_ids or []))
                files = await self._live_for_update(ids)
                await w.lock_paths([f.path_key for f in files])
            parsed = [await self.parse(raw, f.path_key) for f in files]
            current = await self.values.of_files([f.id for f in files])
            planned = [Planned(f, p, current[f.id]) for f, p in zip(files, parsed, strict=True)]
            written = await self.write_many(w, user, planned, via=via)
        changed = [FileCardChange(file_id=f.id, path=f.path, changes=c) for f, c in written]
        return BulkOut(files=len(files), changed=changed)

    async def _live_for_update(self, ids: Sequence[int]) -> list[File]:
        files = []
        for file_id in ids:  # id order: two bulk sets never deadlock
            file = await self.files.get_for_update(file_id)
            if file is None or file.deleted_at is not None:
                raise NotFound(f"File {file_id} not found")
            files.append(file)
        return files

    # -- what other services call inside their writes ------------------------------------------------

    async def after_files_added(self, files: Sequence[File]) -> None:
        """New files get their folders' card values (upload)."""
        await self.session.flush()
        await self.values.inherit([f.id for f in files])

    async def after_files_moved(self, file_ids: Sequence[int]) -> None:
        """Files are somewhere else now: what they inherit is their new folders' (their own values stay)."""
        await self.session.flush()  # the files' new paths, for the SQL below
        if file_ids:
            await self.values.forget_inherited(file_ids)
            await self.values.inherit(file_ids)

    async def after_folder_deleted(self, w: VaultWrite, folder_key: str, user: User) -> int:
        """A folder was deleted: its card, and any left on folders inside it, goes with it. Each folder's values
        are cleared as a folder card change (`via: folder_deleted`, old → empty: the audit row keeps them), the
        files that inherited them (deleted ones: no live file is left) inherit from the folders above, and a
        file put at that path later starts without them. Returns how many folders had a card."""
        rows = await self.folder_values.under(folder_key)
        fields = await self.fields.by_ids(sorted({v.field_id for v in rows}))
        cards: dict[str, list[FolderCardValue]] = {}
        for value in rows:
            cards.setdefault(value.folder_key, []).append(value)
        for key in sorted(cards, key=len, reverse=True):  # the deepest first: nothing inherits from a doomed card
            changes: Changes = {}
            touched = 0
            for value in sorted(cards[key], key=lambda v: (fields[v.field_id].position, v.field_id)):
                touched += await self._clear_folder_value(key, value.field_id)
                changes[fields[value.field_id].key] = {"old": value.value_text, "new": None}
            path = cards[key][0].folder_path
            await self._journal_folder(w, user, path, key, changes, touched, via="folder_deleted")
            logger.info("folder card deleted folder=%s user=%s fields=%s", path, user.username, list(changes))
        return len(cards)

    async def _clear_folder_value(self, folder_key: str, field_id: int) -> int:
        """A folder's value goes; its files fall back to the folders above. Returns how many inherited it."""
        await self.folder_values.remove(folder_key, field_id)
        return await self.values.withdraw(folder_key, field_id)

    async def _journal_folder(
        self, w: VaultWrite, user: User, path: str, key: str, changes: Changes, touched: int, *, via: str
    ) -> None:
        fields = list(changes)
        entry = FolderCardChanged(
            folder=path, folder_key=key, user=user.username, fields=fields, changes=changes, files=touched, via=via
        )
        await w.journal(entry, actor=user)

    async def after_folder_moved(self, old_key: str, new_key: str, new_path: str, file_ids: Sequence[int]) -> None:
        """A folder moved: its card (and those of folders inside it) go with it, then its files inherit anew."""
        await self.folder_values.move(old_key, new_key, new_path)
        await self.after_files_moved(file_ids)

    # -- answers -----------------------------------------------------------------------------------

    def _folder(self, folder: str) -> str:
        path = normalise_folder(folder)
        if not path:
            raise BadRequest("The top of the vault has no card; pick a folder")
        return path

    async def _card_out(self, file: File) -> CardOut:
        values = {v.field_id: v for v in await self.values.of_file(file.id)}
        sources = {v.folder_key: v.folder_path for v in await self.folder_values.above(file.path_key)}
        out = []
        missing = []
        for field in await self.fields.listed():
            value = values.get(field.id)
            if not applies(field, file.path_key) and value is None:
                continue
            out.append(_value_out(field, value, sources))
            if field.required_for_release and value is None and applies(field, file.path_key):
                missing.append(field.key)
        return CardOut(file_id=file.id, path=file.path, values=out, missing_for_release=missing)

    async def _folder_out(self, path: str) -> FolderCardOut:
        key = path_key(path)
        own = {v.field_id: v for v in await self.folder_values.of_folder(key)}
        above: dict[int, FolderCardValue] = {}
        for v in await self.folder_values.above(key):  # nearest last: it wins
            above[v.field_id] = v
        out = []
        for field in await self.fields.listed():
            if field.id in own:
                value: str | None = own[field.id].value_text
                inherited = None
            elif field.id in above:
                value, inherited = above[field.id].value_text, above[field.id].folder_path
            else:
                value = inherited = None
            out.append(
                CardValueOut(
                    key=field.key,
                    label=field.label,
                    type=field.type,  # type: ignore[arg-type]  # the column's check constraint
                    value=value,
                    own=field.id in own,
                    inherited_from=inherited,
                    required_for_release=field.required_for_release,
                    choices=list(field.choices),
                )
            )
        return FolderCardOut(path=path, values=out)


def _value_out(field: CardField, value: CardValue | None, sources: Mapping[str, str]) -> CardValueOut:
    inherited = None
    if value is not None and value.source_folder is not None:
        inherited = sources.get(value.source_folder, value.source_folder)
    return CardValueOut(
        key=field.key,
        label=field.label,
        type=field.type,  # type: ignore[arg-type]  # the column's check constraint
        value=value.value_text if value is not None else None,
        own=value is not None and value.source_folder is None,
        inherited_from=inherited,
        required_for_release=field.required_for_release,
        choices=list(field.choices),
    )
