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


class HealthService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], store: GitStore) -> None:
        self.sessionmaker = sessionmaker
        self.store = store

    async def readiness(self, *, data_dir: Path | None = None, min_free_disk_bytes: int = 0) -> dict[str, str]:
        """Each check's state: database and git "ok" or "unavailable"; with a data_dir, disk "ok" or "low"."""
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
        if data_dir is not None and min_free_disk_bytes > 0:
            low = await to_thread.run_sync(disk_space_problems, data_dir, min_free_disk_bytes)
            for problem in low:
                logger.warning("readiness: %s", problem)
            checks["disk"] = "low" if low else "ok"
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
