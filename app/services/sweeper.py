"""The background loop every worker runs: expired locks released (one worker sweeps at a time), and Git
refs kept equal to the catalog's (after a crash between a commit and its ref move; stale ref locks)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.services.locks import LockService
from app.storage.git_store import GitStore
from app.vault.pipeline import Vault
from app.vault.refs import reconcile

logger = logging.getLogger(__name__)


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, store: GitStore) -> None:
    async with sessionmaker() as session:
        await reconcile(session, store)
    if settings.lock_ttl_seconds > 0:  # 0: locks never expire, nothing to sweep
        async with sessionmaker() as session:
            await LockService(session, settings, Vault(session, store, settings)).sweep()


async def sweep_forever(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, store: GitStore) -> None:
    while True:
        await asyncio.sleep(settings.lock_sweep_seconds)
        try:
            await sweep_once(sessionmaker, settings, store)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database restart must not end the loop
            logger.exception("sweep failed; retrying in %ss", settings.lock_sweep_seconds)
