from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.health import ping
from app.storage.git_store import GitStore

logger = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 3.0


class HealthService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], store: GitStore) -> None:
        self.sessionmaker = sessionmaker
        self.store = store

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), self.sessionmaker() as session:
                await ping(session)
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports any failure instead of raising it
            logger.warning("readiness: database unreachable: %s", type(exc).__name__)
            checks["database"] = "unavailable"
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                await self.store.repo.check()
            checks["git"] = "ok"
        except Exception as exc:  # as above: a check reports, it does not raise
            logger.warning("readiness: git store unusable: %s", exc)
            checks["git"] = "unavailable"
        stale = self.store.repo.stale_ref_locks()
        if stale:
            # Writes still succeed (the catalog is the commit point), but clones see no new commit until the
            # sweep removes the lock (within LOCK_SWEEP_SECONDS) or an operator does.
            names = ", ".join(f"{lock.path.name} ({lock.age_seconds:.0f} s old)" for lock in stale)
            logger.warning("readiness: stale git ref lock %s", names)
            checks["git_refs"] = f"stale ref lock: {names}; the sweep removes it, or delete it by hand"
        else:
            checks["git_refs"] = "ok"
        return checks
