from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.models import LoginThrottle
from app.repositories.base import Repository


class LoginThrottleRepository(Repository[LoginThrottle]):
    model = LoginThrottle

    async def take(self, limits: Mapping[str, int], *, now: datetime, window: timedelta) -> datetime | None:
        """Count one attempt against every key of `limits` (key -> most attempts in a window), or, when one
        key has used all of its window's attempts, count none and return when that window ends.

        The rows are locked in key order until the caller's transaction ends, so concurrent attempts on any
        worker are counted one after the other and no more than the limit get through.
        """
        keys = sorted(limits)
        inserted = await self.session.execute(
            insert(LoginThrottle)
            .values([{"key": k, "failures": 0, "window_start": now} for k in keys])
            .on_conflict_do_nothing(index_elements=["key"])
        )
        rows = (
            await self.session.execute(
                select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key).with_for_update()
            )
        ).scalars()
        counts: dict[str, tuple[int, datetime]] = {}
        blocked_until: datetime | None = None
        for row in rows:
            failures, started = (row.failures, row.window_start) if row.window_start > now - window else (0, now)
            counts[row.key] = (failures, started)
            if failures >= limits[row.key]:
                until = started + window
                blocked_until = max(blocked_until, until) if blocked_until else until
        if blocked_until is not None:
            return blocked_until
        for key, (failures, started) in counts.items():
            await self.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .values(failures=failures + 1, window_start=started)
            )
        if inserted.rowcount:  # type: ignore[attr-defined]
            # New keys are how the table grows (one per typed name, per address); ended windows go with them.
            # SKIP LOCKED: a row another attempt holds is left for later, never waited for (that could deadlock).
            ended = (
                select(LoginThrottle.key)
                .where(LoginThrottle.window_start < now - window)
                .with_for_update(skip_locked=True)
            )
            await self.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(ended.scalar_subquery())))
        return None

    async def clear(self, key: str) -> None:
        await self.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))

    async def give_back(self, key: str) -> None:
        """Uncount one attempt: it was not a failure."""
        await self.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(failures=func.greatest(LoginThrottle.failures - 1, 0))
        )
