"""Who is online, on which worker, viewing which file: cluster-wide, in the `presence` table.

Every change takes one transaction-scoped advisory lock, so each sees the committed result of
the one before: two tabs of one user closing at once on two workers cannot both believe the
other tab is still open, and the NOTIFYs leave in the order the changes happened. Changes are
announced with NOTIFY in the same transaction (user_connected, user_disconnected, viewing);
each worker adds the online list when it passes them on. Connecting is not a change of the
vault, so nothing here writes audit rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.errors import NotFound
from app.journal.presence import UserConnected, UserDisconnected, ViewingChanged
from app.models import Presence, User
from app.repositories.files import FileRepository
from app.repositories.presence import Claim, OnlineRow, PresenceRepository
from app.repositories.users import UserRepository
from app.schemas.realtime import OnlineUser


def _who(user: User) -> dict[str, Any]:
    return {"user": user.username, "user_id": user.id, "full_name": user.full_name}


async def _announce(session: AsyncSession, entry: journal.Entry) -> None:
    await journal.append(session, entry, actor=None)


def _online_user(row: OnlineRow) -> OnlineUser:
    return OnlineUser(
        user_id=row.user_id,
        username=row.username,
        full_name=row.full_name,
        connections=row.connections,
        viewing=row.viewing,
        since=row.since,
    )


class PresenceService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.presence = PresenceRepository(session)
        self.users = UserRepository(session)
        self.files = FileRepository(session)

    async def join(
        self, connection_id: str, user: User, *, worker_id: str, backend_pid: int, backend_start: datetime
    ) -> list[OnlineUser]:
        """Register a socket; the first socket of a user announces them. Returns the online list."""
        await self.presence.serialise_changes()
        was_online = bool(await self.presence.present_users([user.id]))
        await self.presence.upsert(
            [Claim(connection_id, user.id, None)],
            worker_id=worker_id,
            backend_pid=backend_pid,
            backend_start=backend_start,
        )
        if not was_online:
            await _announce(self.session, UserConnected(**_who(user)))
        online = await self.presence.online()
        await self.session.commit()
        return [_online_user(r) for r in online]

    async def leave(self, connection_id: str) -> None:
        """Forget a socket; the last socket of a user announces that they left."""
        await self.presence.serialise_changes()
        row = await self.presence.remove(connection_id)
        if row is not None:
            await self._announce_departures([row], reason="closed")
        await self.session.commit()

    async def view(self, connection_id: str, user: User, file_id: int | None) -> list[int]:
        """Set the file one socket has open; announce the user's open files when that changes them."""
        if file_id is not None and await self.files.get(file_id) is None:
            raise NotFound(f"File {file_id} not found")
        await self.presence.serialise_changes()
        before = await self.presence.viewing_of(user.id)
        if await self.presence.set_viewing(connection_id, file_id) is None:
            raise NotFound("This connection is not registered; reconnect")
        after = await self.presence.viewing_of(user.id)
        if after != before:
            await _announce(self.session, ViewingChanged(**_who(user), viewing=after))
        await self.session.commit()
        return after

    async def online_users(self) -> list[OnlineUser]:
        rows = await self.presence.online()
        await self.session.rollback()
        return [_online_user(r) for r in rows]

    async def heartbeat(self, worker_id: str, backend_pid: int) -> int:
        """Refresh this worker's rows; returns how many still name its current LISTEN session."""
        touched = await self.presence.touch(worker_id, backend_pid)
        await self.session.commit()
        return touched

    async def reclaim(
        self, claims: Sequence[Claim], *, worker_id: str, backend_pid: int, backend_start: datetime
    ) -> None:
        """Re-register this worker's open sockets under its current LISTEN session.

        After a reconnect (or a freeze long enough for its rows to be swept) a worker's rows name
        a dead session or are gone; its sockets are still open, so it puts them back and announces
        the users that had been dropped.
        """
        await self.presence.serialise_changes()
        await self.presence.reclaim(worker_id, backend_pid, backend_start)
        present = await self.presence.present_users(c.user_id for c in claims)
        await self.presence.upsert(claims, worker_id=worker_id, backend_pid=backend_pid, backend_start=backend_start)
        for user_id in sorted({c.user_id for c in claims} - present):
            user = await self.users.get(user_id)
            if user is not None:
                await _announce(self.session, UserConnected(**_who(user)))
        await self.session.commit()

    async def sweep(self, stale_seconds: float) -> int:
        """Drop the rows of dead workers and announce whoever that takes offline.

        Any worker may sweep; a cheap check without the lock comes first, because every worker
        runs this every few seconds and there is almost never anything to do.
        """
        stale = timedelta(seconds=stale_seconds)
        if not await self.presence.any_dead(stale):
            await self.session.rollback()
            return 0
        await self.presence.serialise_changes()
        rows = await self.presence.remove_dead(stale)
        await self._announce_departures(rows, reason="lost")
        await self.session.commit()
        return len(rows)

    async def drop_worker(self, worker_id: str) -> int:
        """Forget every socket of a worker that is shutting down."""
        await self.presence.serialise_changes()
        rows = await self.presence.remove_worker(worker_id)
        await self._announce_departures(rows, reason="closed")
        await self.session.commit()
        return len(rows)

    async def _announce_departures(self, rows: Iterable[Presence], *, reason: str) -> None:
        by_user: dict[int, list[Presence]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        still_online = await self.presence.present_users(by_user)
        for user_id, gone in sorted(by_user.items()):
            user = await self.users.get(user_id)
            if user is None:
                continue
            if user_id not in still_online:
                await _announce(self.session, UserDisconnected(**_who(user), reason=reason))
            elif any(r.viewing_file_id is not None for r in gone):
                # Another tab is still open, but the set of files this user has open shrank.
                viewing = await self.presence.viewing_of(user_id)
                await _announce(self.session, ViewingChanged(**_who(user), viewing=viewing))
