from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.health import ping

logger = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 3.0


class HealthService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), self.sessionmaker() as session:
                await ping(session)
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports any failure instead of raising it
            logger.warning("readiness: database unreachable: %s", type(exc).__name__)
            checks["database"] = "unavailable"
        return checks
