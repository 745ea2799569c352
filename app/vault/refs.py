"""Keeping the Git refs equal to the catalog's (`vault_refs`), the commit point.

Both branches are kept: `main` (every version) and `released` (the shop floor's, app/vault/released.py).
A write moves its Git ref after its transaction committed; a crash in between leaves the ref behind,
and an older release could leave it ahead, on a commit the catalog never committed. `reconcile` (at
start-up and with every sweep) moves each ref to the catalog's commit: forward when it is behind,
back when it points at a commit off the catalog's history; a ref the catalog has no row for yet is
adopted as it is (the first start after the upgrade). Stale ref lock files are removed first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.refs import VaultRefRepository
from app.storage.git_store import GitStore, GitStoreError
from app.vault.pipeline import MAIN
from app.vault.released import RELEASED

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefRepair:
    ref: str
    git: str | None  # what the Git ref held
    catalog: str | None  # what the catalog holds (and the Git ref now holds)
    how: str  # adopted | forward | back


async def reconcile(session: AsyncSession, store: GitStore) -> list[RefRepair]:
    """Make every Git ref name the catalog's commit; returns what it changed. Commits the session."""
    await to_thread.run_sync(store.repo.clear_stale_ref_locks)
    refs = VaultRefRepository(session)
    repairs: list[RefRepair] = []
    names = {MAIN} | {row.name for row in await refs.all()}
    if await store.reads.ref(RELEASED) is not None:
        names.add(RELEASED)  # a released branch the catalog has no row for yet (a restored backup) is adopted
    for name in sorted(names):
        git = await store.reads.ref(name)
        row = await refs.get_unlocked(name)
        if row is not None and row.commit_sha == git:
            continue  # the usual case, checked without a lock
        # Locked, so no write commits to this ref meanwhile; the row read now is the latest committed.
        row = await refs.lock(name)
        git = await store.reads.ref(name)
        if row is None:
            await refs.adopt(name, git)
            repairs.append(RefRepair(name, git, git, "adopted"))
            logger.info("catalog adopted git ref=%s sha=%s", name, git)
            continue
        catalog = row.commit_sha
        if catalog == git:
            continue
        if catalog is not None and not await store.reads.has_commit(catalog):
            logger.error("catalog names commit %s for %s, which git does not hold; run camvault doctor", catalog, name)
            continue
        forward = git is None or (catalog is not None and await store.reads.is_ancestor(git, catalog))
        try:
            await store.writes.set_ref(name, catalog)
        except GitStoreError as exc:
            logger.warning("git ref repair failed ref=%s error=%s", name, exc)
            continue
        how = "forward" if forward else "back"
        log = logger.info if forward else logger.warning
        log("git ref moved %s to the catalog's commit ref=%s from=%s to=%s", how, name, git, catalog)
        repairs.append(RefRepair(name, git, catalog, how))
    await session.commit()
    return repairs
