"""Partial uploads never stay in DATA_DIR/tmp: a killed client's request removes its own file, and a killed
worker's file is swept by the workers that live on (or start later) once it has not been written to for
TEMP_FILE_MAX_AGE_SECONDS, while a slow live upload, older than that but still writing, is left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import PASSWORD, MakeUser, StartWorkers
from tests.invariants import assert_vault_consistent
from tests.live_server import ROOT, LiveServer, server_env

MAX_AGE = 5.0  # long enough for a commit on a busy machine to outlast its last write


def _token(server: LiveServer) -> str:
    r = httpx.post(f"{server.url}/api/auth/token", json={"login": "anna", "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _poll(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _partial_files(tmp: Path) -> list[Path]:
    return list(tmp.iterdir()) if tmp.exists() else []


def _upload_in_a_process(server: LiveServer, name: str, mib: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.slow_upload_client", server.url, _token(server), name, str(mib)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _growing_file(tmp: Path, at_least: int) -> Path:
    found: list[Path] = []

    def grown() -> bool:
        found[:] = [p for p in _partial_files(tmp) if p.stat().st_size >= at_least]
        return bool(found)

    _poll(grown, f"a temp file of {at_least} bytes")
    return found[0]


@pytest.fixture
async def anna(make_user: MakeUser) -> None:
    await make_user("anna", Role.user)


async def test_killed_client_and_killed_worker_leave_no_temp_file_behind(
    anna: None, start_workers: StartWorkers, settings: Settings, db: AsyncSession
) -> None:
    tmp = settings.data_dir / "tmp"
    steady, doomed = start_workers(2, temp_file_max_age_seconds=MAX_AGE, temp_sweep_seconds=0.25)

    # A client killed at 2 MiB of 40: its request notices the disconnect and removes its own file.
    client = _upload_in_a_process(steady, "client-killed.stl", 40)
    _growing_file(tmp, 2 * 1024**2)
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=10)
    _poll(lambda: _partial_files(tmp) == [], "the killed client's temp file to go")

    # A worker killed mid-upload cannot clean up: its partial file stays, until the living worker sweeps it.
    client = _upload_in_a_process(doomed, "worker-killed.stl", 40)
    orphan = _growing_file(tmp, 2 * 1024**2)
    doomed.kill()
    client.wait(timeout=30)
    assert orphan.exists()
    _poll(lambda: not orphan.exists(), "the living worker to sweep the dead worker's file", timeout=MAX_AGE + 30)
    assert "removed stale temp file" in steady.log()

    # A slow upload that lives longer than MAX_AGE keeps writing, so its file is never taken from it.
    started = time.monotonic()
    slow = _upload_in_a_process(steady, "slow.stl", 8)  # about 6.5 s at the client's pace
    out, _ = slow.communicate(timeout=120)
    assert time.monotonic() - started > MAX_AGE
    assert out.startswith("201"), out
    with httpx.Client(base_url=steady.url, timeout=30) as c:
        files = c.get("/api/files", headers={"Authorization": f"Bearer {_token(steady)}"}).json()["items"]
    assert [(f["path"], f["size"]) for f in files] == [("slow.stl", 8 * 1024**2)]
    assert _partial_files(tmp) == []
    await assert_vault_consistent(db, settings.data_dir)


def test_a_starting_worker_sweeps_what_a_crash_left(
    anna: None, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    tmp = settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    crashed = tmp / "upload-left-by-a-power-cut"
    crashed.write_bytes(b"\0" * 1024**2)
    two_hours_ago = time.time() - 7200
    os.utime(crashed, (two_hours_ago, two_hours_ago))
    fresh = tmp / "upload-being-written-by-another-worker"
    fresh.write_bytes(b"\0" * 1024)

    env = server_env(database_url, settings.data_dir, secret_key=settings.secret_key)  # the default hour
    server = LiveServer(env, tmp_path / "server").start()
    try:
        assert not crashed.exists()  # gone before the worker served its first request
        assert fresh.exists()
    finally:
        server.stop()
