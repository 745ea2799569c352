from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, tuple_

from app.models import AuditEvent, User
from app.repositories.base import Repository

LOGIN_FAILED = "auth.login_failed"
LOGIN_SUCCEEDED = "auth.login"


@dataclass(frozen=True)
class AuditRow:
    action: str
    actor_id: int | None
    actor_name: str | None
    target: str | None
    file_id: int | None
    subject_user_id: int | None
    details: str  # JSON text
    client_ip: str | None
    request_id: str | None


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows a search (or an export) shows."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Notification:
    """A NOTIFY whose payload is head + the time (JSON) + tail."""

    channel: str
    head: str
    tail: str


_INSERT = (
    "INSERT INTO audit_events (action, actor_id, actor_name, target, file_id, subject_user_id, details, client_ip, "
    "request_id) VALUES (:action, :actor_id, :actor_name, :target, :file_id, :subject_user_id, "
    "CAST(:details AS jsonb), :client_ip, :request_id)"
)
_NOTIFY_AT = "pg_notify(CAST(:channel AS text), CAST(:head AS text) || to_json({at})::text || CAST(:tail AS text))"
# One statement, one round trip: the row and the notification it announces (stamped with the row's time).
_INSERT_AND_NOTIFY = text(
    f"WITH entry AS ({_INSERT} RETURNING at) SELECT {_NOTIFY_AT.format(at='entry.at')} FROM entry"  # noqa: S608
)
_INSERT_ONLY = text(_INSERT)
# Many entries that each have a row and a notification, in one statement: the rows go in in the given order (so
# their ids ascend in it), and each notification is stamped with its own row's time, matched by that order.
_INSERT_AND_NOTIFY_MANY = text(
    "WITH src AS (SELECT * FROM unnest(CAST(:action AS text[]), CAST(:actor_id AS int[]), CAST(:actor_name AS text[]), "
    "CAST(:target AS text[]), CAST(:file_id AS int[]), CAST(:subject_user_id AS int[]), CAST(:details AS text[]), "
    "CAST(:client_ip AS text[]), CAST(:request_id AS text[]), CAST(:head AS text[]), CAST(:tail AS text[])) "
    "WITH ORDINALITY AS s(action, actor_id, actor_name, target, file_id, subject_user_id, details, client_ip, "
    "request_id, head, tail, n)), "
    "entry AS (INSERT INTO audit_events (action, actor_id, actor_name, target, file_id, subject_user_id, details, "
    "client_ip, request_id) SELECT action, actor_id, actor_name, target, file_id, subject_user_id, "
    "CAST(details AS jsonb), client_ip, request_id FROM src ORDER BY n RETURNING id, at), "
    "numbered AS (SELECT at, row_number() OVER (ORDER BY id) AS n FROM entry) "
    "SELECT count(pg_notify(CAST(:channel AS text), src.head || to_json(numbered.at)::text || src.tail)) "
    "FROM numbered JOIN src USING (n)"
)
_NOTIFY_ONLY = text("SELECT " + _NOTIFY_AT.format(at="clock_timestamp()"))


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent

    async def append(self, row: AuditRow | None, notification: Notification | None) -> None:
        """Insert an audit row, send a notification, or both in one statement (app/journal writes through here)."""
        params: dict[str, Any] = asdict(row) if row is not None else {}
        if notification is not None:
            params |= asdict(notification)
        if row is not None and notification is not None:
            await self.session.execute(_INSERT_AND_NOTIFY, params)
        elif row is not None:
            await self.session.execute(_INSERT_ONLY, params)
        elif notification is not None:
            await self.session.execute(_NOTIFY_ONLY, params)

    async def append_many(self, rows: Sequence[AuditRow], notifications: Sequence[Notification]) -> None:
        """Insert rows, each with its notification (same length, same order, one channel), in one statement."""
        if not rows:
            return
        params: dict[str, Any] = {f.name: [getattr(r, f.name) for r in rows] for f in fields(AuditRow)}
        params |= {"head": [n.head for n in notifications], "tail": [n.tail for n in notifications]}
        params["channel"] = notifications[0].channel
        await self.session.execute(_INSERT_AND_NOTIFY_MANY, params)

    async def search(self, f: AuditFilter, *, before: tuple[datetime, int] | None, limit: int) -> Sequence[AuditEvent]:
        """Newest first; `before` is the (at, id) of the last row of the previous page."""
        stmt = select(AuditEvent)
        if f.actor:
            # Who acted, by any part of their username, full name or email (`ann` finds anna and Anna Weber);
            # the row's own actor name too (`system`, and names of rows whose user no longer matches).
            who = f.actor.lower()
            people = select(User.id).where(
                or_(
                    func.lower(User.username).contains(who, autoescape=True),
                    func.lower(User.full_name).contains(who, autoescape=True),
                    func.lower(User.email).contains(who, autoescape=True),
                )
            )
            stmt = stmt.where(
                or_(AuditEvent.actor_id.in_(people), func.lower(AuditEvent.actor_name).contains(who, autoescape=True))
            )
        if f.action:
            # A prefix, even inside a word: `lock` finds `lock.checkout`, `lock.force` finds `lock.force_released`.
            stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
        if f.target:
            stmt = stmt.where(AuditEvent.target.contains(f.target, autoescape=True))
        if f.since:
            stmt = stmt.where(AuditEvent.at >= f.since)
        if f.until:
            stmt = stmt.where(AuditEvent.at < f.until)
        if before:
            stmt = stmt.where(tuple_(AuditEvent.at, AuditEvent.id) < tuple_(*before))
        stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()
