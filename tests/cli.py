"""Run the real `camvault` command line against a test's database and DATA_DIR.

Each command is a process of its own with its own environment, folder, stdin, stdout and stderr, as
`python -m app.cli` would be, but forked from the tests' fork server (tests/live_server.py), which has the
command line imported already: a fresh interpreter spent about half a second of CPU importing it, and the
suite runs the command a few dozen times. tests/deploy still starts it in a fresh interpreter, through the
image's entrypoint and `camvault` script.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from app.core.config import Settings
from tests.live_server import FORK_SERVER, enter_forked

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
    # Not the checkout: a developer's .env there must not change what the test runs.
    workdir = settings.data_dir.parent
    with tempfile.TemporaryDirectory(prefix="camvault-cli-") as scratch:
        streams = [Path(scratch, name) for name in ("stdin", "stdout", "stderr")]
        streams[0].write_text(stdin)
        for path in streams[1:]:
            path.touch()  # read afterwards even when the command died before writing a byte
        process = FORK_SERVER.Process(target=_command, args=(env, str(workdir), list(args), *map(str, streams)))
        process.start()
        process.join(COMMAND_TIMEOUT)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(["camvault", *args], COMMAND_TIMEOUT)
        out, err = (path.read_text(errors="replace") for path in streams[1:])
    return subprocess.CompletedProcess(["camvault", *args], process.exitcode, out, err)


COMMAND_TIMEOUT = 120


def _command(env: dict[str, str], workdir: str, args: list[str], stdin: str, stdout: str, stderr: str) -> None:
    """The command's process, after the fork: `python -m app.cli ARGS` with this environment, folder and streams."""
    enter_forked(env, workdir, stdin=stdin, stdout=stdout, stderr=stderr)
    sys.argv = ["camvault", *args]
    from app.cli import main

    sys.exit(main(args))


async def camvault_async(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`camvault` from an async test: the event loop keeps running meanwhile. An in-process app's background sweep
    may be inside a transaction (holding a row the command needs) when the test starts the command; a blocked loop
    would leave that transaction open until the command's timeout."""
    return await asyncio.to_thread(camvault, settings, *args, stdin=stdin)
