"""Benchmark 8, the whole vault at once: the export of the full listing, the same rows read by walking the
listing's pages, and a many-file upload; and the database round trips of each operation.

- `export`: `GET /api/files/export` (NDJSON, every file) through Gunicorn, p50 of a few rounds, against its own
  SQL (captured in-process, every page's SELECT) replayed on bare asyncpg; `pages_ms`: the same rows read the
  way a client had to before, `GET /api/files?limit=500` page after page.
- `upload_many`: BENCH_BULK_FILES (363) small files in one `POST /api/files`, against writing and fsyncing the
  same bytes to as many new files.
- `round_trips`: messages to PostgreSQL that wait for an answer (bench/capture.py counts them at asyncpg's
  protocol), per operation, from the in-process capture app.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.capture import replay
from bench.measure import speed_ratio, summary
from bench.race import upload_files
from bench.session import Bench


def small_programs(count: int, tag: str) -> list[tuple[str, bytes]]:
    return [(f"{tag}-{i:04d}.nc", f"(part {i})\nG0 X{i} Y0\nG1 Z-1 F300\nM30\n".encode()) for i in range(count)]


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    results["export"] = await export(bench)
    print(f"  export of {results['export']['files']} files: {results['export']['http_p50_ms']:.0f} ms p50", flush=True)
    results["upload_many"] = await upload_many(bench)
    results["round_trips"] = await round_trips(bench)
    return results


async def export(bench: Bench) -> dict[str, Any]:
    files = await bench.conn.fetchval("SELECT count(*) FROM files WHERE deleted_at IS NULL")
    async with bench.capture.record() as recording:
        r = await bench.capture.client.get("/api/files/export", headers=bench.headers)
    supported = r.status_code == 200
    rounds = max(3, bench.config.rounds // 40)
    app, pages, floor = [], [], []
    for _ in range(rounds + 1):  # the first round warms up
        if supported:
            started = time.perf_counter()
            async with bench.http.stream("GET", "/api/files/export", headers=bench.headers) as answer:
                answer.raise_for_status()
                lines = 0
                async for chunk in answer.aiter_bytes():
                    lines += chunk.count(b"\n")
            app.append((time.perf_counter() - started) * 1000)
            if lines != files:
                raise RuntimeError(f"export: {lines} lines for {files} files")
            started = time.perf_counter()
            await replay(bench.conn, recording.steps)
            floor.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        seen, cursor = 0, None
        while True:
            params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
            page = (await bench.http.get("/api/files", params=params, headers=bench.headers)).json()
            seen += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        pages.append((time.perf_counter() - started) * 1000)
        if seen != files:
            raise RuntimeError(f"listing pages: {seen} rows for {files} files")
    walked = summary(pages[1:])
    result: dict[str, Any] = {"files": files, "rounds": rounds, "pages_p50_ms": walked["p50_ms"]}
    if supported:
        http, sql = summary(app[1:]), summary(floor[1:])
        result |= {
            "http_p50_ms": http["p50_ms"],
            "http_p99_ms": http["p99_ms"],
            "floor_p50_ms": sql["p50_ms"],
            "ratio": speed_ratio(sql["p50_ms"], http["p50_ms"]),
            "pages_over_export": round(walked["p50_ms"] / http["p50_ms"], 2),
            "statements": len(recording.statements),
        }
    else:  # a camvault without the export (a "before" run): only the pages
        result |= {"http_p50_ms": walked["p50_ms"], "http_p99_ms": walked["p99_ms"], "floor_p50_ms": 0.0}
        result |= {"ratio": 0.0, "pages_over_export": 1.0, "statements": 0}
    return result


async def upload_many(bench: Bench) -> dict[str, Any]:
    count = bench.config.bulk_files
    folder = bench.config.tmp / "bulk-writes"
    folder.mkdir(parents=True, exist_ok=True)
    app, disk = [], []
    for n in range(bench.config.bulk_rounds + 1):  # the first round warms up
        parts = small_programs(count, f"b{n}")
        started = time.perf_counter()
        r = await bench.http.post(
            "/api/files",
            files=[("files", part) for part in parts],
            data={"folder": f"bench/bulk/{n}"},
            headers=bench.headers,
        )
        r.raise_for_status()
        app.append(time.perf_counter() - started)
        started = time.perf_counter()
        for name, data in parts:
            with (folder / f"{n}-{name}").open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        disk.append(time.perf_counter() - started)
    http, floor = summary([s * 1000 for s in app[1:]]), summary([s * 1000 for s in disk[1:]])
    return {
        "files": count,
        "rounds": bench.config.bulk_rounds,
        "http_p50_ms": http["p50_ms"],
        "http_p99_ms": http["p99_ms"],
        "floor_p50_ms": floor["p50_ms"],
        "floor_p99_ms": floor["p99_ms"],
        "ratio": speed_ratio(floor["p50_ms"], http["p50_ms"]),
    }


async def round_trips(bench: Bench) -> dict[str, Any]:
    """Round trips to PostgreSQL per operation, in the in-process capture app (the same code as the server)."""
    client, auth = bench.capture.client, bench.headers
    (file_id,) = await upload_files(bench, ["trips.nc"], "bench/trips")
    out: dict[str, Any] = {}

    async def count(name: str, method: str, path: str, **kwargs: Any) -> Any:
        with counting_processes() as spawned:
            async with bench.capture.record() as recording:
                r = await client.request(method, path, headers=auth, **kwargs)
        r.raise_for_status()
        out[name] = recording.round_trips
        if spawned:
            processes[name] = len(spawned)
        return r

    processes: dict[str, int] = {}

    for _ in range(2):  # the second pass is the steady state: statements prepared, connections pooled
        await count("check_out", "POST", f"/api/files/{file_id}/checkout", json={"message": "trips"})
        await count("check_in", "POST", f"/api/files/{file_id}/checkin", json={})
        await count("check_out_again", "POST", f"/api/files/{file_id}/checkout", json={"message": "trips"})
        await count("release", "POST", f"/api/files/{file_id}/release")
        await count("list_page", "GET", "/api/files", params={"limit": 50})
        await count("file", "GET", f"/api/files/{file_id}")
    out["lock_cycle"] = out["check_out"] + out["check_in"]
    for n, files in enumerate((1, 1, bench.config.bulk_files)):
        parts = small_programs(files, f"t{n}")
        await count(f"upload_{files}", "POST", "/api/files", files=[("files", p) for p in parts], data={"folder": "t"})
    out.pop("check_out_again")
    # Processes started (a `git` each) by the last pass of each operation; absent: none.
    out["processes"] = {name: n for name, n in processes.items() if name != "check_out_again"}
    return out


@contextmanager
def counting_processes() -> Iterator[list[Any]]:
    """Every process this process starts inside the block (asyncio's subprocesses go through Popen too)."""
    started: list[Any] = []
    original = subprocess.Popen.__init__

    def spy(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        started.append(args)
        original(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = spy  # type: ignore[method-assign]
    try:
        yield started
    finally:
        subprocess.Popen.__init__ = original  # type: ignore[method-assign]
