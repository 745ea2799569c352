"""Imported by the tests' fork server after the app (tests/live_server.py): builds one app and drops it.

FastAPI works out each route's parameters and answer models the first time the routes are included in an app (about
0.2 s of CPU) and keeps that with the route objects, which live at module level: the servers forked afterwards
find it done. What building an app sets for the whole process (the root logger, the password hashing cost) is put
back as a fresh interpreter has it, so a forked `camvault` command (tests/cli.py) logs and hashes as the real one
does; every server sets both again from its own settings.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from app.core.config import Settings
from app.core.security import configure_password_hashing
from app.main import create_app

_root = logging.getLogger()
_handlers, _level = list(_root.handlers), _root.level
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
finally:
    _root.handlers[:] = _handlers
    _root.setLevel(_level)
    configure_password_hashing("standard")
