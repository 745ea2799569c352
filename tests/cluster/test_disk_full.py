"""A full disk under a real server process: an upload bigger than the space left is 507 (not 500) and leaves
nothing behind, and /readyz reports the low disk. DATA_DIR/tmp is a real 4 MiB tmpfs (mounting needs root:
without it the test is skipped, and says so)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import PASSWORD, MakeUser, StartWorkers, sql
from tests.invariants import assert_vault_consistent
from tests.live_server import LiveServer
from tests.raw_http import MULTIPART, multipart_file, raw_post

MIB = 1024**2


@pytest.fixture
def small_tmp(settings: Settings) -> Iterator[Path]:
    tmp = settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0777", "camvault-test-tmp", str(tmp)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 4 MiB tmpfs for DATA_DIR/tmp here (needs root): {mounted.stderr.strip()}")
    try:
        yield tmp
    finally:
        subprocess.run(["umount", "--lazy", str(tmp)], check=False)


@pytest.fixture
async def server(small_tmp: Path, start_workers: StartWorkers, make_user: MakeUser) -> LiveServer:
    await make_user("anna", Role.user)
    [live] = start_workers(1, min_free_disk_bytes=MIB)
    return live


def _blocks(total: int) -> Iterator[bytes]:
    block = os.urandom(64 * 1024)
    for _ in range(total // len(block)):
        yield block


async def test_an_upload_bigger_than_the_space_left_is_507_and_leaves_nothing(
    server: LiveServer, small_tmp: Path, db: AsyncSession, settings: Settings
) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}

        answer = raw_post(server.url, "/api/files", auth | MULTIPART, multipart_file("big.stl", _blocks(8 * MIB)))
        assert answer.status == 507, answer.body
        assert b"disk is full" in answer.body
        assert os.listdir(small_tmp) == []  # the partial temp file is gone, and its space with it
        assert await sql(db, "SELECT count(*) FROM files") == [(0,)]
        assert await sql(db, "SELECT count(*) FROM audit_events WHERE action LIKE 'file.%'") == [(0,)]

        # What fits still goes in: the refusal freed what it had taken.
        small = client.post("/api/files", files={"files": ("op10.nc", os.urandom(MIB))}, headers=auth)
        assert small.status_code == 201, small.text
        assert "status=500" not in server.log()
    await assert_vault_consistent(db, settings.data_dir)


def test_readyz_reports_low_disk_as_its_own_check(server: LiveServer, small_tmp: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["disk"] == "ok"
        filler = small_tmp / "filler"
        filler.write_bytes(b"\0" * (3 * MIB + MIB // 2))  # leaves less than MIN_FREE_DISK_BYTES (1 MiB)
        try:
            low = client.get("/readyz")
            assert low.status_code == 200  # still serving: reads, and uploads that fit, work
            checks = {"database": "ok", "git": "ok", "git_refs": "ok", "disk": "low"}
            assert low.json() == {"status": "degraded", "checks": checks}
            assert "low disk space" in server.log() and "MIN_FREE_DISK_BYTES" in server.log()
        finally:
            filler.unlink()
        assert client.get("/readyz").json()["status"] == "ok"
