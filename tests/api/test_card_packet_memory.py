"""A 1 GiB part packet streams out of a real server process while its memory stays flat: the zip is written as
the file's bytes come out of Git, with no temp copy and no buffer of the whole."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, StartWorkers

pytestmark = pytest.mark.heavy

GIB = 1024**3
BLOCK = os.urandom(1024**2)  # repeated: incompressible for Git's sample, cheap to make


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_a_one_gib_packet_streams_with_flat_memory(
    start_workers: StartWorkers, make_user: MakeUser, login: Login, tmp_path: Path, settings: Settings
) -> None:
    await make_user("anna", Role.user)
    headers = await login("anna")
    [server] = start_workers(1, secret_key=settings.secret_key)
    big = tmp_path / "part.step"
    with big.open("wb") as f:
        for _ in range(GIB // len(BLOCK)):
            f.write(BLOCK)
    async with httpx.AsyncClient(base_url=server.url, timeout=600) as http:
        with big.open("rb") as f:
            r = await http.post(
                "/api/files",
                files={"files": ("part.step", f, "application/octet-stream")},
                data={"folder": "jobs/4711", "card.part_number": "4711"},
                headers=headers,
            )
        assert r.status_code == 201, r.text
        big.unlink()
        await upload_small(http, headers)

        baseline = rss_mib(server.pid)
        peak = baseline
        received = 0
        tail = b""
        async with http.stream("GET", "/api/cards/packet/zip", params={"part_number": "4711"}, headers=headers) as resp:
            assert resp.status_code == 200
            async for chunk in resp.aiter_raw():
                received += len(chunk)
                tail = (tail + chunk)[-512:]
                peak = max(peak, rss_mib(server.pid))
                await asyncio.sleep(0)
        assert received > GIB
        assert tail[-22:-18] == b"PK\x05\x06" or b"PK\x06\x06" in tail  # the zip's end of central directory
        assert peak - baseline < 64, f"worker RSS grew {peak - baseline:.0f} MiB while streaming 1 GiB"


async def upload_small(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """A second, small file of the packet, so the zip has more than the big entry."""
    r = await http.post(
        "/api/files",
        files={"files": ("op10.nc", b"G0 X0\n", "application/octet-stream")},
        data={"folder": "jobs/4711", "card.part_number": "4711"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
