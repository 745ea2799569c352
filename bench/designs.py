"""Benchmark 9, other designs: the same client, the same machine, the same run, two other servers.

Issue 20 sets camvault's targets against two designs measured side by side, and this benchmark measures them
in the run that measures camvault:

- the **framework floor** (bench/framework_floor.py): FastAPI on asyncpg doing only the token check, the user
  and the deciding statement. camvault's per-request cost is judged against it: a race round, lock cycles per
  second, and the workers' CPU per cycle (user + system time of both Gunicorn workers over the timed cycles).
- the **tutorial design** (bench/tutorial_design.py): locks and catalog in JSON files under `flock`, a GitPython
  commit per upload. camvault should beat it at 100 racers, at reading the whole catalog (its one JSON list
  against camvault's export, at the same number of files) and at a many-file upload.

Both run under Gunicorn with two Uvicorn workers, as camvault does, on the same PostgreSQL (the floor) or a
scratch folder (the tutorial design). The races use the same racers and tokens as benchmark 1, a new client per
round; the winner of a round checks in before the next.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import tutorial_design
from bench.locks import run_for
from bench.measure import cpu_of, rss_mib, summary
from bench.race import upload_files
from bench.session import Bench
from bench.stack import RACER
from bench.whole_vault import small_programs
from tests.deploy.native import stop
from tests.live_server import SECRET_KEY, free_port

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2


@dataclass
class Design:
    name: str
    proc: subprocess.Popen[bytes]
    url: str

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()


@asynccontextmanager
async def serving(name: str, module: str, tmp: Path, env: dict[str, str]) -> AsyncIterator[Design]:
    """`module`'s app under Gunicorn with two Uvicorn workers (camvault's worker class, keep-alive and timeout,
    no access log), on a free loopback port."""
    workdir = tmp / name
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), f"bench.{module}:app", "-k", "uvicorn_worker.UvicornWorker", "-w", str(WORKERS)]
    command += ["-b", f"127.0.0.1:{port}", "--keep-alive", "5", "--timeout", "120", "--worker-tmp-dir", "/dev/shm"]
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        command, cwd=workdir, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=log
    )
    design = Design(name, proc, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=design.url) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {(workdir / 'server.log').read_text()[-2000:]}")
                try:
                    if (await client.get("/openapi.json")).status_code == 200 and len(design.workers()) == WORKERS:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start: {(workdir / 'server.log').read_text()[-2000:]}")
                await asyncio.sleep(0.2)
        yield design
    finally:
        stop(proc)
        log.close()


async def race(bench: Bench, url: str, file_id: int, racers: list[str], action: str = "checkout") -> dict[str, Any]:
    """Benchmark 1's rounds against another server: every racer checks out at once; the winner checks in.
    `action` "refuse" (the framework floor's route that answers 409 at once) measures the client and HTTP alone."""
    limits = httpx.Limits(max_connections=len(racers), max_keepalive_connections=len(racers))
    times, grants = [], []
    for _ in range(bench.config.race_rounds):
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(
                    client.post(f"/api/files/{file_id}/{action}", json={"message": "race"}, headers=bench.auth(name))
                    for name in racers
                )
            )
            times.append(time.perf_counter() - started)
        unexpected = sorted({a.status_code for a in answers} - {200, 409})
        if unexpected:
            raise RuntimeError(f"{url} race: unexpected answers {unexpected}")
        winners = [name for name, a in zip(racers, answers, strict=True) if a.status_code == 200]
        grants.append(len(winners))
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            for name in winners:
                (await client.post(f"/api/files/{file_id}/checkin", headers=bench.auth(name))).raise_for_status()
    rounds = summary([s * 1000 for s in times])
    return {
        "round_p50_ms": rounds["p50_ms"],
        "round_p99_ms": rounds["p99_ms"],
        "double_grants": sum(g - 1 for g in grants if g > 1),
    }


async def cycles(bench: Bench, design: Design, files: list[int], users: list[str]) -> dict[str, Any]:
    """Benchmark 2's check-out + check-in cycles against another server: cycles a second and CPU a cycle."""
    n = len(files)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=design.url, timeout=120, limits=limits) as client:

        async def cycle(i: int) -> None:
            headers = bench.auth(users[i])
            for step in ("checkout", "checkin"):
                r = await client.post(f"/api/files/{files[i]}/{step}", json={"message": "bench cycle"}, headers=headers)
                r.raise_for_status()

        await run_for(min(1.0, bench.config.lock_seconds), n, cycle)
        done, cpu = await cpu_of(design.workers(), run_for(bench.config.lock_seconds, n, cycle))
    return {"cycles_per_s": round(done / bench.config.lock_seconds, 1), "cpu_ms_per_cycle": round(cpu / done * 1000, 2)}


async def timed_ms(rounds: int, call: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    """p50 and p99 of `rounds` calls after one warm-up call; the call gets its round's number."""
    times = []
    for n in range(rounds + 1):
        started = time.perf_counter()
        await call(n)
        if n:
            times.append((time.perf_counter() - started) * 1000)
    return summary(times)


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    counts = sorted({max(2, bench.config.racers // 2), bench.config.racers})
    racers = [RACER.format(i) for i in range(bench.config.racers)]
    n = bench.config.lock_clients
    # The floor works on camvault's tables, so on files of its own that camvault's benchmarks never touch.
    (race_file,) = await upload_files(bench, ["floor-race.nc"], "bench/floor")
    cycle_files = await upload_files(bench, [f"floor-cycle-{i:02d}.nc" for i in range(n)], "bench/floor")
    cycle_users = [RACER.format(max(bench.config.racers, n) - 1 - i) for i in range(n)]
    floor_env = {"FLOOR_DSN": bench.dsn, "FLOOR_SECRET": SECRET_KEY}
    async with serving("framework-floor", "framework_floor", bench.config.tmp, floor_env) as floor:
        results["framework_rss"] = {"workers_rss_idle_mib": rss_mib(floor.workers())}
        for count in counts:
            results[f"framework_race_{count}"] = await race(bench, floor.url, race_file, racers[:count])
            results[f"http_race_{count}"] = await race(bench, floor.url, race_file, racers[:count], "refuse")
        results["framework_cycles"] = await cycles(bench, floor, cycle_files, cycle_users)
    print(f"  framework floor: {results['framework_cycles']}", flush=True)

    files = int(await bench.conn.fetchval("SELECT count(*) FROM files WHERE deleted_at IS NULL"))
    root = bench.config.tmp / "tutorial-vault"
    catalog = [
        {"id": i, "path": f"Jobs/J{i % 250:04d}/OP{i:05d}-finish.nc", "size": 3874, "version": 1, "by": "bench"}
        for i in range(1, files + 1)
    ]
    tutorial_design.prepare(root, catalog)
    tutorial_env = {"TUTORIAL_DIR": str(root), "FLOOR_SECRET": SECRET_KEY}
    async with serving("tutorial-design", "tutorial_design", bench.config.tmp, tutorial_env) as tutorial:
        results["tutorial_rss"] = {"workers_rss_idle_mib": rss_mib(tutorial.workers())}
        for count in counts:
            results[f"tutorial_race_{count}"] = await race(bench, tutorial.url, 1, racers[:count])
        async with httpx.AsyncClient(base_url=tutorial.url, timeout=600) as client:

            async def whole(_: int) -> None:
                r = await client.get("/api/files", headers=bench.headers)
                r.raise_for_status()
                if len(r.json()) != files:
                    raise RuntimeError(f"tutorial design: {len(r.json())} files listed for {files}")

            bulk = bench.config.bulk_files

            async def many(round_: int) -> None:
                parts = [("files", part) for part in small_programs(bulk, f"t{round_}")]
                r = await client.post(
                    "/api/files", files=parts, data={"folder": f"bulk/{round_}"}, headers=bench.headers
                )
                r.raise_for_status()

            results["tutorial_list"] = {"files": files, **await timed_ms(max(3, bench.config.rounds // 40), whole)}
            results["tutorial_upload_many"] = {"files": bulk, **await timed_ms(bench.config.bulk_rounds, many)}
    print(f"  tutorial design: list {results['tutorial_list']}", flush=True)
    return results
