"""The background loop every worker runs: expired locks released (one worker sweeps at a time), Git refs kept
equal to the catalog's (after a crash between a commit and its ref move; stale ref locks), and the facts of large
NC programs that their after-commit task left behind (app/services/facts_backstop.py)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.services.facts_backstop import FactsBackstop
from app.services.locks import LockService
from app.storage.git_store import GitStore
from app.vault.pipeline import Vault
from app.vault.refs import reconcile

logger = logging.getLogger(__name__)


async def sweep_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    store: GitStore,
    backstop: FactsBackstop | None = None,
) -> None:
    async with sessionmaker() as session:
        await reconcile(session, store)
    if settings.lock_ttl_seconds > 0:  # 0: locks never expire, nothing to sweep
        async with sessionmaker() as session:
            await LockService(session, settings, Vault(session, store, settings)).sweep()
    if backstop is not None:
        await backstop.run(sessionmaker, settings, store)


async def sweep_forever(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, store: GitStore) -> None:
    backstop = FactsBackstop()
    while True:
        await asyncio.sleep(settings.lock_sweep_seconds)
        try:
            await sweep_once(sessionmaker, settings, store, backstop)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database restart must not end the loop
            logger.exception("sweep failed; retrying in %ss", settings.lock_sweep_seconds)
