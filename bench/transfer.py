"""One large file up through camvault against a plain disk write, and down from camvault against nginx."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from bench import nginx
from bench.measure import megabytes_per_second
from bench.session import Bench

BLOCK = 1024**2


def write_payload(path: Path, size: int) -> None:
    """`size` bytes of incompressible data: one random MiB repeated (further apart than zlib's 32 KiB window)."""
    block = os.urandom(BLOCK)
    with path.open("wb") as f:
        for offset in range(0, size, BLOCK):
            f.write(block[: min(BLOCK, size - offset)])


def stamp(path: Path, run: int) -> None:
    """Make this run's bytes differ from every other run's, so Git stores a new blob instead of finding one."""
    with path.open("r+b") as f:
        f.write(f"camvault bench run {run:06d}\n".encode())


def disk_write_seconds(source: Path, target: Path) -> float:
    """The floor for an upload: the same bytes copied to a new file and fsync'ed, 1 MiB at a time."""
    started = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(BLOCK):
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


async def upload_seconds(bench: Bench, source: Path, name: str) -> tuple[float, int]:
    started = time.perf_counter()
    with source.open("rb") as f:
        r = await bench.http.post(
            "/api/files", files={"files": (name, f)}, data={"folder": "bench"}, headers=bench.headers
        )
    seconds = time.perf_counter() - started
    r.raise_for_status()
    stored = r.json()["files"][0]
    if stored["size"] != source.stat().st_size:
        raise RuntimeError(f"uploaded {stored['size']} bytes, expected {source.stat().st_size}")
    return seconds, int(stored["id"])


async def download_seconds(client: httpx.AsyncClient, url: str, size: int, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    received = 0
    async with client.stream("GET", url, headers=headers) as r:
        r.raise_for_status()
        async for chunk in r.aiter_raw():
            received += len(chunk)
    seconds = time.perf_counter() - started
    if received != size:
        raise RuntimeError(f"{url}: received {received} bytes, expected {size}")
    return seconds


async def run(bench: Bench) -> tuple[dict[str, dict[str, Any]], list[str]]:
    size, runs = bench.config.upload_bytes, bench.config.transfers
    folder = bench.config.tmp / "payload"
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "payload.bin"
    write_payload(source, size)

    uploads, writes = [], []
    file_id = 0
    for run in range(runs):
        stamp(source, run)
        seconds, file_id = await upload_seconds(bench, source, f"upload-{run}.stl")
        uploads.append(seconds)
        writes.append(disk_write_seconds(source, bench.config.tmp / "disk-write.bin"))
    results: dict[str, dict[str, Any]] = {
        "upload": throughput_result(size, uploads, writes, floor_name="disk write + fsync")
    }

    # The last upload's blob holds exactly the bytes now in `source`, which nginx serves.
    notes = []
    binary = nginx.nginx_binary()
    if binary is None:
        notes.append("download: skipped, nginx is not installed (apt-get install nginx)")
        results["download"] = {"skipped": "nginx not installed"}
        return results, notes
    app_times, nginx_times = [], []
    async with httpx.AsyncClient(timeout=600) as plain:
        with nginx.serve(binary, folder, bench.config.tmp / "nginx") as nginx_url:
            for _ in range(runs):
                app_times.append(
                    await download_seconds(bench.http, f"/api/files/{file_id}/content", size, bench.headers)
                )
                nginx_times.append(await download_seconds(plain, f"{nginx_url}/payload.bin", size, {}))
    floor_name = f"nginx {nginx.nginx_version(binary)}"
    results["download"] = throughput_result(size, app_times, nginx_times, floor_name=floor_name)
    return results, notes


def throughput_result(size: int, app: list[float], floor: list[float], *, floor_name: str) -> dict[str, Any]:
    """MB/s of the median run each; ratio = camvault's time over the floor's (floor MB/s / camvault MB/s)."""
    app_mb_s, floor_mb_s = megabytes_per_second(size, app), megabytes_per_second(size, floor)
    return {
        "bytes": size,
        "app_mb_s": app_mb_s,
        "floor_mb_s": floor_mb_s,
        "ratio": round(floor_mb_s / app_mb_s, 2),
        "runs": len(app),
        "floor": floor_name,
    }
