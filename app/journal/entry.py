"""The typed change journal: one definition per kind of change, written once.

An entry is a frozen dataclass. Its class declares the audit action (or None), the event type sent to
every worker with NOTIFY (or None), whether browsers get that event, and which of its fields are the audit
row's real columns (target, file, subject user). Appending one (`append`) writes the audit row and the
NOTIFY in the caller's transaction, in one statement, so both commit or neither does. The registry of
kinds is what realtime forwards, and a test holds it equal to app/static/js/live.js and docs/realtime.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import json_dumps
from app.core.request_context import client_ip_var, request_id_var
from app.models import User
from app.repositories.audit import AuditRepository, AuditRow, Notification

CHANNEL = "camvault_events"
# NOTIFY payloads must stay under 8000 bytes; a vault path is at most 1024 (and `at` adds ~40).
MAX_PAYLOAD = 7900
# What a payload over the limit is cut down to (with "truncated": true): enough to reload the file.
_KEPT_WHEN_TRUNCATED = ("file_id", "path", "user")

_REGISTRY: list[type[Entry]] = []


@dataclass(frozen=True, kw_only=True)
class Entry:
    action: ClassVar[str | None] = None  # the audit row's action; None: no audit row
    event: ClassVar[str | None] = None  # the NOTIFY's event type; None: no notification
    forwarded: ClassVar[bool] = True  # False: workers act on the event but never send it to browsers
    target_field: ClassVar[str | None] = "path"  # the field that is the audit row's target
    subject_field: ClassVar[str | None] = None  # the field naming the user the change happened to
    audit_only: ClassVar[frozenset[str]] = frozenset()  # fields the event leaves out
    event_only: ClassVar[frozenset[str]] = frozenset({"path", "user"})  # fields the audit details leave out
    anonymous_actor: ClassVar[str | None] = "system"  # the actor name when no user acted

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY.append(cls)

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def details(self) -> dict[str, Any]:
        """The audit row's JSON details (for display and export)."""
        return {k: v for k, v in self.values().items() if k not in self.event_only}

    def payload(self) -> dict[str, Any] | None:
        """The event's fields (after `type` and `at`); None when this entry sends no event after all."""
        return {k: v for k, v in self.values().items() if k not in self.audit_only}

    def _field(self, name: str | None) -> Any:
        return getattr(self, name) if name else None


def kinds() -> Iterator[type[Entry]]:
    """Every kind of change (importing app.journal registers them all)."""
    return iter(_REGISTRY)


def event_types(*, forwarded: bool | None = None) -> frozenset[str]:
    """The event types the kinds declare; forwarded=True: those browsers receive."""
    return frozenset(
        k.event for k in _REGISTRY if k.event is not None and (forwarded is None or k.forwarded == forwarded)
    )


async def append(session: AsyncSession, entry: Entry, *, actor: User | None) -> None:
    """Record `entry` in the caller's transaction: its audit row and its event, in one round trip."""
    row, notification = _parts(entry, actor)
    await AuditRepository(session).append(row, notification)


async def append_many(session: AsyncSession, entries: Sequence[Entry], *, actor: User | None) -> None:
    """Record several entries in the caller's transaction, in their order: one round trip for all of them when
    each has an audit row and an event (a multi-file upload's), else one each."""
    parts = [_parts(entry, actor) for entry in entries]
    if all(row is not None and n is not None and n.channel == CHANNEL for row, n in parts):
        rows = [row for row, _ in parts if row is not None]
        notifications = [n for _, n in parts if n is not None]
        await AuditRepository(session).append_many(rows, notifications)
        return
    for row, notification in parts:
        await AuditRepository(session).append(row, notification)


def _parts(entry: Entry, actor: User | None) -> tuple[AuditRow | None, Notification | None]:
    row = None
    if entry.action is not None:
        row = AuditRow(
            action=entry.action,
            actor_id=actor.id if actor else None,
            actor_name=actor.username if actor else entry.anonymous_actor,
            target=entry._field(entry.target_field),
            file_id=getattr(entry, "file_id", None),
            subject_user_id=entry._field(entry.subject_field),
            details=json_dumps(entry.details()),
            client_ip=client_ip_var.get(),
            request_id=request_id_var.get(),
        )
    payload = entry.payload() if entry.event is not None else None
    notification = _notification(entry.event, payload) if entry.event is not None and payload is not None else None
    return row, notification


def _notification(event: str, payload: dict[str, Any]) -> Notification:
    # `at` is the database's clock (the audit row's own time when there is one), put between head and tail.
    head = '{"type":' + json_dumps(event) + ',"at":'
    rest = json_dumps(payload)
    tail = "}" if rest == "{}" else "," + rest[1:]
    if len((head + tail).encode()) > MAX_PAYLOAD:
        kept = {k: payload[k] for k in _KEPT_WHEN_TRUNCATED if k in payload} | {"truncated": True}
        tail = "," + json_dumps(kept)[1:]
    return Notification(CHANNEL, head, tail)
