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
                await self.store.check()
            checks["git"] = "ok"
        except Exception as exc:  # as above: a check reports, it does not raise
            logger.warning("readiness: git store unusable: %s", exc)
            checks["git"] = "unavailable"
        return checks
