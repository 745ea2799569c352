"""The background loop that releases expired locks; every worker runs it, one sweeps at a time."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.services.locks import LockService
from app.storage.git_store import GitStore

logger = logging.getLogger(__name__)


async def sweep_forever(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, store: GitStore) -> None:
    if settings.lock_ttl_seconds == 0:
        return  # locks never expire: nothing to sweep
    while True:
        await asyncio.sleep(settings.lock_sweep_seconds)
        try:
            async with sessionmaker() as session:
                await LockService(session, settings, store).sweep()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database restart must not end the loop
            logger.exception("lock sweep failed; retrying in %ss", settings.lock_sweep_seconds)
