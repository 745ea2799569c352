"""Benchmarks 3 and 4: one large file up through camvault against a plain disk write, with the server's peak
memory; then its latest and its first version down, against reading the same bytes from disk and nginx."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import nginx
from bench.measure import megabytes_per_second, rss_mib, speed_ratio
from bench.session import Bench

BLOCK = 1024**2
MB = 1e6


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


def disk_read_seconds(source: Path) -> float:
    """The floor for a download: the same bytes read from disk (from the page cache, as a server would find them
    right after they were written), 1 MiB at a time."""
    started = time.perf_counter()
    with source.open("rb", buffering=0) as f:
        while f.read(BLOCK):
            pass
    return time.perf_counter() - started


class PeakRss:
    """The largest resident set of the server's worker processes, sampled every 20 ms on a thread."""

    def __init__(self, workers: list[psutil.Process]) -> None:
        self.workers = workers
        self.peak_one = 0  # the largest single worker
        self.peak_all = 0  # the largest sum over the workers
        self._stop = threading.Event()

    def sample(self) -> None:
        sizes = []
        for worker in self.workers:
            try:
                sizes.append(worker.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        self.peak_one = max(self.peak_one, *sizes, 0)
        self.peak_all = max(self.peak_all, sum(sizes))

    @contextmanager
    def watching(self) -> Iterator[PeakRss]:
        def loop() -> None:
            while not self._stop.wait(0.02):
                self.sample()

        thread = threading.Thread(target=loop, daemon=True)
        self.sample()
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.sample()


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


async def download_seconds(
    client: httpx.AsyncClient, url: str, size: int, headers: dict[str, str], params: dict[str, int] | None = None
) -> float:
    started = time.perf_counter()
    received = 0
    async with client.stream("GET", url, headers=headers, params=params) as r:
        r.raise_for_status()
        async for chunk in r.aiter_raw():
            received += len(chunk)
    seconds = time.perf_counter() - started
    if received != size:
        raise RuntimeError(f"{url}: received {received} bytes, expected {size}")
    return seconds


async def check_in_version(bench: Bench, file_id: int, source: Path) -> None:
    """A second version of the file, through check-out and a check-in with content, as a user makes one."""
    (await bench.http.post(f"/api/files/{file_id}/checkout", json={}, headers=bench.headers)).raise_for_status()
    with source.open("rb") as f:
        r = await bench.http.post(
            f"/api/files/{file_id}/checkin",
            files={"file": ("new.stl", f)},
            data={"message": "bench: version 2"},
            headers=bench.headers,
        )
    r.raise_for_status()
    if r.json()["head_version"] != 2:
        raise RuntimeError(f"check-in made version {r.json()['head_version']}, expected 2")


async def run(bench: Bench) -> tuple[dict[str, dict[str, Any]], list[str]]:
    size, runs = bench.config.upload_bytes, bench.config.transfers
    folder = bench.config.tmp / "payload"
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "payload.bin"
    write_payload(source, size)

    uploads, writes = [], []
    file_id = 0
    rss = PeakRss(bench.server.workers())
    idle = rss_mib(rss.workers)
    with rss.watching():
        for run in range(runs):
            stamp(source, run)
            seconds, file_id = await upload_seconds(bench, source, f"upload-{run}.stl")
            uploads.append(seconds)
            writes.append(disk_write_seconds(source, bench.config.tmp / "disk-write.bin"))
    results: dict[str, dict[str, Any]] = {
        "upload": {
            **throughput_result(size, uploads, writes, floor_name="disk write + fsync"),
            "workers_rss_idle_mib": idle,
            "peak_worker_rss_mib": round(rss.peak_one / BLOCK, 1),
            "peak_workers_rss_mib": round(rss.peak_all / BLOCK, 1),
        }
    }

    # Version 1 of the last upload holds the bytes stamped `runs - 1`: keep a copy for the floors; version 2
    # gets new bytes through a check-in.
    old = folder / "old.bin"
    shutil.copyfile(source, old)
    stamp(source, runs)
    await check_in_version(bench, file_id, source)

    notes = []
    binary = nginx.nginx_binary()
    if binary is None:
        notes.append("download: no nginx floor, nginx is not installed (apt-get install nginx)")
    url = f"/api/files/{file_id}/content"
    serving = nginx.serve(binary, folder, bench.config.tmp / "nginx") if binary else contextlib.nullcontext(None)
    async with httpx.AsyncClient(timeout=600) as plain:
        with serving as nginx_url:
            for name, params, path in (("download_latest", None, source), ("download_old", {"version": 1}, old)):
                app_times, disk_times, nginx_times = [], [], []
                for _ in range(runs):
                    app_times.append(await download_seconds(bench.http, url, size, bench.headers, params))
                    disk_times.append(disk_read_seconds(path))
                    if nginx_url is not None:
                        nginx_times.append(await download_seconds(plain, f"{nginx_url}/{path.name}", size, {}))
                result = throughput_result(size, app_times, disk_times, floor_name="disk read")
                result["version"] = 1 if params else 2
                if nginx_times and binary:
                    nginx_mb_s = megabytes_per_second(size, nginx_times)
                    result |= {
                        "nginx_mb_s": nginx_mb_s,
                        "nginx_ratio": speed_ratio(1 / nginx_mb_s, 1 / result["app_mb_s"]),
                        "nginx": nginx.nginx_version(binary),
                    }
                results[name] = result
    return results, notes


def throughput_result(size: int, app: list[float], floor: list[float], *, floor_name: str) -> dict[str, Any]:
    """MB/s of the median run each; ratio = camvault's speed relative to the floor's (app MB/s / floor MB/s)."""
    app_mb_s, floor_mb_s = megabytes_per_second(size, app), megabytes_per_second(size, floor)
    return {
        "bytes": size,
        "app_mb_s": app_mb_s,
        "floor_mb_s": floor_mb_s,
        "ratio": speed_ratio(1 / floor_mb_s, 1 / app_mb_s),
        "runs": len(app),
        "floor": floor_name,
    }
