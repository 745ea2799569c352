from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.health import ping
from app.storage.git_store import GitStore

logger = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 3.0
# The one check that reports without making the worker unready: every worker shares the disk, and reads (and
# uploads that fit) still work on a low one.
DISK_CHECK = "disk"


class HealthService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], store: GitStore) -> None:
        self.sessionmaker = sessionmaker
        self.store = store

    async def readiness(self, *, data_dir: Path | None = None, min_free_disk_bytes: int = 0) -> dict[str, str]:
        """Each check's state: "ok" or what is wrong; with a data_dir, also disk: "ok" or "low" (DISK_CHECK)."""
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
        if data_dir is not None and min_free_disk_bytes > 0:
            low = await to_thread.run_sync(disk_space_problems, data_dir, min_free_disk_bytes)
            for problem in low:
                logger.warning("readiness: %s", problem)
            checks[DISK_CHECK] = "low" if low else "ok"
        return checks


def disk_space_problems(data_dir: Path, min_free_bytes: int) -> list[str]:
    """What is short of space under DATA_DIR (the vault, temporary uploads): one line per filesystem with less
    than min_free_bytes available, for /readyz and `camvault doctor`. Empty when all is well."""
    problems: list[str] = []
    seen: set[int] = set()
    for path in (data_dir / "vault.git", data_dir / "tmp", data_dir):
        try:
            device = path.stat().st_dev
            stats = os.statvfs(path)
        except OSError:
            continue  # not made yet (tmp appears with the first upload)
        if device in seen:
            continue
        seen.add(device)
        free = stats.f_bavail * stats.f_frsize
        if free < min_free_bytes:
            problems.append(
                f"low disk space: {free // 1024**2} MiB free for {path}, "
                f"below MIN_FREE_DISK_BYTES ({min_free_bytes // 1024**2} MiB)"
            )
    return problems
