from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, column, delete, exists, func, or_, select, table, update
from sqlalchemy.dialects.postgresql import insert

from app.models import Presence, User
from app.repositories.base import Repository

PRESENCE_LOCK = 0x63616D0003  # "cam" + 3: every presence change takes turns (see PresenceService)

_activity = table("pg_stat_activity", column("pid"), column("backend_start"))


@dataclass(frozen=True)
class OnlineRow:
    user_id: int
    username: str
    full_name: str
    connections: int
    viewing: list[int]
    since: datetime


@dataclass(frozen=True)
class Claim:
    """A socket a worker knows it holds, with what the database must remember about it."""

    connection_id: str
    user_id: int
    viewing_file_id: int | None


def _backend_alive() -> ColumnElement[bool]:
    # backend_start is NULL in pg_stat_activity for sessions of another role without
    # pg_read_all_stats; then the pid alone decides rather than calling a live worker dead.
    return exists(
        select(1)
        .select_from(_activity)
        .where(
            _activity.c.pid == Presence.backend_pid,
            or_(_activity.c.backend_start.is_(None), _activity.c.backend_start == Presence.backend_start),
        )
    )


def _dead(stale_after: timedelta) -> ColumnElement[bool]:
    return or_(~_backend_alive(), Presence.heartbeat_at < func.now() - stale_after)


class PresenceRepository(Repository[Presence]):
    model = Presence

    async def serialise_changes(self) -> None:
        """Held until the transaction ends, so each change sees the one before it committed."""
        await self.session.execute(select(func.pg_advisory_xact_lock(PRESENCE_LOCK)))

    async def upsert(
        self, claims: Iterable[Claim], *, worker_id: str, backend_pid: int, backend_start: datetime
    ) -> None:
        values = [
            {
                "connection_id": c.connection_id,
                "user_id": c.user_id,
                "viewing_file_id": c.viewing_file_id,
                "worker_id": worker_id,
                "backend_pid": backend_pid,
                "backend_start": backend_start,
            }
            for c in claims
        ]
        if not values:
            return
        stmt = insert(Presence).values(values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Presence.connection_id],
                set_={
                    "worker_id": stmt.excluded.worker_id,
                    "backend_pid": stmt.excluded.backend_pid,
                    "backend_start": stmt.excluded.backend_start,
                    "heartbeat_at": func.now(),
                },
            )
        )

    async def remove(self, connection_id: str) -> Presence | None:
        stmt = delete(Presence).where(Presence.connection_id == connection_id).returning(Presence)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def set_viewing(self, connection_id: str, file_id: int | None) -> Presence | None:
        stmt = (
            update(Presence)
            .where(Presence.connection_id == connection_id)
            .values(viewing_file_id=file_id)
            .returning(Presence)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def present_users(self, user_ids: Iterable[int]) -> set[int]:
        """Which of these users still have at least one open socket."""
        ids = list(set(user_ids))
        if not ids:
            return set()
        stmt = select(Presence.user_id).where(Presence.user_id.in_(ids)).distinct()
        return set((await self.session.execute(stmt)).scalars())

    async def viewing_of(self, user_id: int) -> list[int]:
        stmt = (
            select(Presence.viewing_file_id)
            .where(Presence.user_id == user_id, Presence.viewing_file_id.is_not(None))
            .distinct()
            .order_by(Presence.viewing_file_id)
        )
        return [v for v in (await self.session.execute(stmt)).scalars() if v is not None]

    async def online(self) -> list[OnlineRow]:
        viewing = func.array_remove(func.array_agg(Presence.viewing_file_id.distinct()), None)
        stmt = (
            select(
                User.id,
                User.username,
                User.full_name,
                func.count(),
                viewing,
                func.min(Presence.connected_at),
            )
            .join(User, User.id == Presence.user_id)
            .group_by(User.id)
            .order_by(func.lower(User.username))
        )
        rows = (await self.session.execute(stmt)).all()
        return [OnlineRow(r[0], r[1], r[2], int(r[3]), sorted(int(v) for v in r[4]), r[5]) for r in rows]

    async def reclaim(self, worker_id: str, backend_pid: int, backend_start: datetime) -> int:
        """Point this worker's rows at its new LISTEN session (after a reconnect)."""
        stmt = (
            update(Presence)
            .where(Presence.worker_id == worker_id)
            .values(backend_pid=backend_pid, backend_start=backend_start, heartbeat_at=func.now())
        )
        result = await self.session.execute(stmt)
        return result.rowcount or 0  # type: ignore[attr-defined]

    async def touch(self, worker_id: str, backend_pid: int) -> int:
        """Refresh the heartbeat of this worker's rows that still name its current session."""
        stmt = (
            update(Presence)
            .where(Presence.worker_id == worker_id, Presence.backend_pid == backend_pid)
            .values(heartbeat_at=func.now())
        )
        result = await self.session.execute(stmt)
        return result.rowcount or 0  # type: ignore[attr-defined]

    async def any_dead(self, stale_after: timedelta) -> bool:
        return bool((await self.session.execute(select(exists().where(_dead(stale_after))))).scalar())

    async def remove_dead(self, stale_after: timedelta) -> Sequence[Presence]:
        stmt = delete(Presence).where(_dead(stale_after)).returning(Presence)
        return (await self.session.execute(stmt)).scalars().all()

    async def remove_worker(self, worker_id: str) -> Sequence[Presence]:
        stmt = delete(Presence).where(Presence.worker_id == worker_id).returning(Presence)
        return (await self.session.execute(stmt)).scalars().all()
