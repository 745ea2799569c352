"""Imported by the tests' fork server after the app (tests/live_server.py): builds one app and drops it.

FastAPI works out each route's parameters and answer models the first time the routes are included in an app (about
0.2 s of CPU) and keeps that with the route objects, which live at module level: the servers forked afterwards
find it done. Nothing else survives: every server builds its own app from its own settings, which also sets its
logging and password hashing again.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from app.core.config import Settings
from app.main import create_app

try:
    create_app(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            env="test",
            database_url="postgresql+asyncpg://warmup@/warmup",
            data_dir=Path(tempfile.gettempdir()) / "camvault-fork-warmup-unused",
            secret_key="fork-warmup-" + "x" * 32,
            serve_static=False,
        )
    )
except Exception as exc:  # a fork server that cannot start would fail every test that needs a server
    print(f"fork server warm-up skipped: {exc!r}", file=sys.stderr)
