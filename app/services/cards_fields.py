"""The card's fields, defined by admins: add, change (label, choices, required, where it applies, order),
remove. Each change is a database-only vault write with its journal entry (audited, and a live event so open
pages reload the fields). A removed field leaves cards and filters; its values stay (history, and CSV of the
audit log), and its key stays taken."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, NotFound, Unprocessable
from app.journal.cards import CardFieldChanged, CardFieldCreated, CardFieldRemoved
from app.models import CardField, User
from app.repositories.cards import CardFieldRepository
from app.schemas.card import FieldCreate, FieldList, FieldOut, FieldUpdate
from app.services import roles
from app.services.paths import normalise_folder, path_key
from app.vault.pipeline import Vault

logger = logging.getLogger(__name__)


def field_out(f: CardField) -> FieldOut:
    return FieldOut(
        key=f.key,
        label=f.label,
        type=f.type,  # type: ignore[arg-type]  # the column's check constraint
        choices=list(f.choices),
        required_for_release=f.required_for_release,
        extensions=list(f.extensions),
        folders=list(f.folders),
        position=f.position,
        removed=f.removed_at is not None,
    )


def _extensions(raw: list[str]) -> list[str]:
    return sorted({e.strip().lstrip(".").lower() for e in raw if e.strip().lstrip(".")})


def _folders(raw: list[str]) -> list[str]:
    return sorted({path_key(normalise_folder(f)) for f in raw if f.strip("/ ")})


def _choices(raw: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for choice in raw:
        text = choice.strip()
        if text and text.casefold() not in seen:
            seen[text.casefold()] = text
    return list(seen.values())


class CardFieldService:
    def __init__(self, session: AsyncSession, vault: Vault) -> None:
        self.session = session
        self.vault = vault
        self.fields = CardFieldRepository(session)

    async def listed(self, user: User, *, include_removed: bool = False) -> FieldList:
        roles.require(user, roles.READERS)
        return FieldList(items=[field_out(f) for f in await self.fields.listed(include_removed=include_removed)])

    async def create(self, admin: User, body: FieldCreate) -> FieldOut:
        roles.require(admin, roles.ADMINS, "Only admins define card fields")
        async with self.vault.write() as w:
            existing = await self.fields.by_key(body.key)
            if existing is not None:
                gone = " (removed; its values are kept under this key)" if existing.removed_at else ""
                raise Conflict(f"A field {body.key!r} exists already{gone}")
            field = CardField(
                key=body.key,
                label=body.label.strip(),
                type=body.type,
                choices=_choices(body.choices),
                required_for_release=body.required_for_release,
                extensions=_extensions(body.extensions),
                folders=_folders(body.folders),
                position=body.position if body.position is not None else await self._last_position() + 10,
            )
            if field.choices and field.type != "choice":
                raise Unprocessable("Only a `choice` field has choices")
            await self.fields.add(field)
            out = field_out(field)
            definition = out.model_dump(exclude={"key", "removed"})
            await w.journal(CardFieldCreated(key=field.key, user=admin.username, definition=definition), actor=admin)
        logger.info("card field created key=%s type=%s user=%s", out.key, out.type, admin.username)
        return out

    async def update(self, admin: User, key: str, body: FieldUpdate) -> FieldOut:
        roles.require(admin, roles.ADMINS, "Only admins define card fields")
        async with self.vault.write() as w:
            field = await self._field(key)
            wanted: dict[str, Any] = {}
            if body.label is not None:
                wanted["label"] = body.label.strip()
            if body.choices is not None:
                if field.type != "choice":
                    raise Unprocessable("Only a `choice` field has choices")
                wanted["choices"] = _choices(body.choices)
            if body.required_for_release is not None:
                wanted["required_for_release"] = body.required_for_release
            if body.extensions is not None:
                wanted["extensions"] = _extensions(body.extensions)
            if body.folders is not None:
                wanted["folders"] = _folders(body.folders)
            if body.position is not None:
                wanted["position"] = body.position
            changes = {}
            for name, new in wanted.items():
                old = getattr(field, name)
                old = list(old) if isinstance(old, list) else old
                if old != new:
                    changes[name] = {"old": old, "new": new}
                    setattr(field, name, new)
            if changes:
                await self.session.flush()
                await w.journal(CardFieldChanged(key=field.key, user=admin.username, changes=changes), actor=admin)
            out = field_out(field)
        return out

    async def remove(self, admin: User, key: str) -> FieldOut:
        roles.require(admin, roles.ADMINS, "Only admins define card fields")
        async with self.vault.write() as w:
            field = await self._field(key)
            field.removed_at = datetime.now(UTC)
            await self.session.flush()
            await w.journal(CardFieldRemoved(key=field.key, user=admin.username), actor=admin)
            out = field_out(field)
        logger.info("card field removed key=%s user=%s", key, admin.username)
        return out

    async def _last_position(self) -> int:
        return max((f.position for f in await self.fields.listed(include_removed=True)), default=0)

    async def _field(self, key: str) -> CardField:
        field = await self.fields.by_key(key, for_update=True)
        if field is None or field.removed_at is not None:
            raise NotFound(f"No card field {key!r}")
        return field
