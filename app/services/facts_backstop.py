"""The sweep's backstop for program facts computed after the commit (app/vault/program_facts.py, `compute_later`).

That task lives in one worker: a restart, a crash or a database outage while it runs leaves its versions without
facts. Each worker's sweep looks, at most once a minute, for versions of large NC programs made in the last hour
(`PENDING_FOR`: the API calls their facts pending) but more than `GRACE` ago (their own task should be done) that
still lack facts, and computes a few. Each worker tries a version once: a parser failure or a binary file is not
parsed again and again (it stays without facts; `camvault doctor` counts it and `camvault reindex` tries again).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.repositories.program_facts import VersionFactsRepository
from app.storage.git_store import GitStore
from app.vault.program_facts import PENDING_FOR, store_facts

logger = logging.getLogger(__name__)

EVERY = timedelta(minutes=1)
GRACE = timedelta(minutes=2)
BATCH = 10


class FactsBackstop:
    def __init__(self) -> None:
        self.tried: dict[int, datetime] = {}  # version id -> when it was tried (forgotten after PENDING_FOR)
        self.last: datetime | None = None

    async def run(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        store: GitStore,
        *,
        now: datetime | None = None,
    ) -> int:
        """One pass (when a minute has passed since the last); returns how many versions were given facts."""
        now = now or datetime.now(UTC)
        if self.last is not None and now - self.last < EVERY:
            return 0
        self.last = now
        self.tried = {k: when for k, when in self.tried.items() if now - when < PENDING_FOR}
        async with sessionmaker() as session:
            found = await VersionFactsRepository(session).lacking(
                settings.nc_extensions,
                limit=BATCH + len(self.tried),
                made_between=(now - PENDING_FOR, now - GRACE),
                larger_than=settings.nc_facts_inline_bytes,
            )
        todo = [v.id for v in found if v.id not in self.tried][:BATCH]
        if not todo:
            return 0
        self.tried.update(dict.fromkeys(todo, now))
        stored = await store_facts(sessionmaker, store, settings, todo)
        logger.info("facts backstop versions=%s stored=%d", todo, stored)
        return stored
