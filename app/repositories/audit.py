from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_

from app.models import AuditEvent
from app.repositories.base import Repository

LOGIN_FAILED = "auth.login_failed"
LOGIN_SUCCEEDED = "auth.login"


class AuditRepository(Repository[AuditEvent]):
    model = AuditEvent

    async def record(
        self,
        action: str,
        *,
        actor_id: int | None,
        actor_name: str | None,
        target: str | None,
        details: dict[str, Any] | None = None,
        client_ip: str | None = None,
        request_id: str | None = None,
    ) -> AuditEvent:
        return await self.add(
            AuditEvent(
                action=action,
                actor_id=actor_id,
                actor_name=actor_name,
                target=target,
                details=details or {},
                client_ip=client_ip,
                request_id=request_id,
            )
        )

    async def search(
        self,
        *,
        actor: str | None,
        action: str | None,
        target: str | None,
        since: datetime | None,
        until: datetime | None,
        before: tuple[datetime, int] | None,
        limit: int,
    ) -> Sequence[AuditEvent]:
        """Newest first; `before` is the (at, id) of the last row of the previous page."""
        stmt = select(AuditEvent)
        if actor:
            stmt = stmt.where(func.lower(AuditEvent.actor_name) == actor.lower())
        if action:
            # "lock" matches "lock.checkout", "lock.release", ...; a full name matches itself.
            stmt = stmt.where(or_(AuditEvent.action == action, AuditEvent.action.startswith(action + ".")))
        if target:
            stmt = stmt.where(AuditEvent.target.contains(target, autoescape=True))
        if since:
            stmt = stmt.where(AuditEvent.at >= since)
        if until:
            stmt = stmt.where(AuditEvent.at < until)
        if before:
            stmt = stmt.where(tuple_(AuditEvent.at, AuditEvent.id) < tuple_(*before))
        stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def latest_lock_event(
        self, *, target: str, file_id: int, user_id: int, acted: Sequence[str], suffered: Sequence[str]
    ) -> AuditEvent | None:
        """The newest event on one file where the user did one of `acted`, or lost a lock by one of `suffered`
        (those rows name the former holder in details.holder_id)."""
        stmt = (
            select(AuditEvent)
            .where(
                AuditEvent.target == target,  # indexed; file_id then picks this file among same-path ones
                AuditEvent.details["file_id"].as_integer() == file_id,
                or_(
                    and_(AuditEvent.action.in_(acted), AuditEvent.actor_id == user_id),
                    and_(AuditEvent.action.in_(suffered), AuditEvent.details["holder_id"].as_integer() == user_id),
                ),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
