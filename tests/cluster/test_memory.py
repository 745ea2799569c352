"""A 1 GiB file goes up and comes back down without the server holding it in memory.

The server is a real process; its peak resident set size (VmHWM, the kernel's high-water mark) is read
from /proc before and after. Marked `slow`; `make test` runs it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.models import Role
from tests.conftest import MakeUser
from tests.live_server import LiveServer, server_env

pytestmark = pytest.mark.heavy

GIB = 1024**3
BLOCK = 1024**2
ALLOWED_GROWTH = 100 * 1024**2


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def big_file(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """1 GiB of incompressible bytes (a random MiB repeated beyond zlib's 32 KiB window) and its sha256."""
    block = os.urandom(BLOCK)
    path = tmp_path / "big.stl"
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(GIB // BLOCK):
            f.write(block)
            digest.update(block)
    yield path, digest.hexdigest()
    path.unlink(missing_ok=True)


@pytest.mark.slow
async def test_one_gib_up_and_down_keeps_server_memory_flat(
    database_url: str, settings: Settings, tmp_path: Path, make_user: MakeUser, big_file: tuple[Path, str]
) -> None:
    path, expected = big_file
    await make_user("anna", Role.user)
    env = server_env(database_url, settings.data_dir, secret_key=settings.secret_key, max_upload_bytes=2 * GIB)
    server = LiveServer(env, tmp_path / "server").start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=600) as client:
            r = await client.post("/api/auth/token", json={"login": "anna", "password": "correct horse battery"})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            # Warm up every code path once with a small file, so imports and pools count in the baseline.
            small = await client.post("/api/files", files={"files": ("warm.stl", b"solid x\n")}, headers=headers)
            assert small.status_code == 201, small.text
            warm = await client.get(f"/api/files/{small.json()['files'][0]['id']}/content", headers=headers)
            assert warm.status_code == 200
            baseline = peak_rss(server.pid)

            with path.open("rb") as f:
                up = await client.post("/api/files", files={"files": ("big.stl", f)}, headers=headers)
            assert up.status_code == 201, up.text
            [stored] = up.json()["files"]
            assert stored["size"] == GIB

            digest = hashlib.sha256()
            received = 0
            async with client.stream("GET", f"/api/files/{stored['id']}/content", headers=headers) as down:
                assert down.status_code == 200
                async for chunk in down.aiter_raw():
                    digest.update(chunk)
                    received += len(chunk)
            assert (received, digest.hexdigest()) == (GIB, expected)

            growth = peak_rss(server.pid) - baseline
    finally:
        server.stop()
    print(f"server peak RSS grew by {growth / 1024**2:.1f} MiB for a 1 GiB upload and download")
    assert growth < ALLOWED_GROWTH, f"peak RSS grew by {growth / 1024**2:.1f} MiB"
