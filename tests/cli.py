"""Run the real `camvault` command line against a test's database and DATA_DIR."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]

# For a test module that runs the command beside an in-process app (its `client` or `db`): the app's background sweep
# repairs Git refs and removes stale ref locks, so while the command runs it could undo what the test prepared for it
# (a ref an older release left ahead, a stale lock for doctor to find). The test's own calls to `reconcile` remain.
NO_BACKGROUND_SWEEP = {"lock_sweep_seconds": 24 * 3600.0}


def camvault(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.jwt_secret,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        # Not the checkout: a developer's .env there must not change what the test runs.
        cwd=settings.data_dir.parent,
        timeout=120,
    )


async def camvault_async(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`camvault` from an async test: the event loop keeps running meanwhile. An in-process app's background sweep
    may be inside a transaction (holding a row the command needs) when the test starts the command; a blocked loop
    would leave that transaction open until the command's timeout."""
    return await asyncio.to_thread(camvault, settings, *args, stdin=stdin)
