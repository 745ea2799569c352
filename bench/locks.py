"""Benchmark 2, lock throughput: check-out + check-in (no content) cycles per second, many clients at once.

Each client is a distinct user cycling on a file of its own, so no cycle waits for another's lock; what
limits them is the server (two Gunicorn workers) and PostgreSQL.

Floor: every SQL statement one cycle sends (authentication, the `FOR UPDATE` reads, the upsert, the audit
rows, `pg_notify`, the release; captured in-process), replayed in the app's transactions on bare asyncpg by
as many concurrent connections, each with its own file and user swapped into the parameters.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx

from app.core.db import SERVER_SETTINGS
from bench.capture import Step, replay
from bench.measure import cpu_of, speed_ratio
from bench.race import substitute, upload_files
from bench.session import Bench
from bench.stack import RACER


async def run_for(seconds: float, clients: int, cycle: Any) -> int:
    """Run `cycle(i)` in a loop on `clients` concurrent tasks for `seconds`; the number of cycles completed."""
    deadline = time.perf_counter() + seconds
    done = [0] * clients

    async def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            await cycle(i)
            done[i] += 1

    await asyncio.gather(*(worker(i) for i in range(clients)))
    return sum(done)


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    n = bench.config.lock_clients
    files = await upload_files(bench, [f"cycle-{i:02d}.nc" for i in range(n)], "bench/cycles")
    # Racers from the last one down: their ids run the other way from the new files', so few coincide.
    users = [RACER.format(max(bench.config.racers, n) - 1 - i) for i in range(n)]
    body = {"message": "bench cycle"}

    # One recorded cycle, by a client whose file and user ids differ from each other and from the version
    # number (1) a cycle's statements carry: the swap replaces parameters by value.
    fitting = [
        i for i in range(n) if files[i] != bench.tokens[users[i]][0] and min(files[i], bench.tokens[users[i]][0]) > 1
    ]
    if not fitting:
        raise RuntimeError(f"lock throughput: no client whose file and user ids can be told apart ({files})")
    k = fitting[-1]
    for _ in range(2):  # the second cycle is the steady state (statements prepared), as benchmark 8 counts them
        async with bench.capture.record() as recording:
            for path in (f"/api/files/{files[k]}/checkout", f"/api/files/{files[k]}/checkin"):
                r = await bench.capture.client.post(path, json=body, headers=bench.auth(users[k]))
                r.raise_for_status()
    file_id, user_id = files[k], bench.tokens[users[k]][0]

    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=bench.server.url, timeout=120, limits=limits) as client:

        async def http_cycle(i: int) -> None:
            headers = bench.auth(users[i])
            (await client.post(f"/api/files/{files[i]}/checkout", json=body, headers=headers)).raise_for_status()
            (await client.post(f"/api/files/{files[i]}/checkin", json=body, headers=headers)).raise_for_status()

        await run_for(min(1.0, bench.config.lock_seconds), n, http_cycle)  # warm-up: connections, caches
        http_cycles, cpu = await cpu_of(bench.server.workers(), run_for(bench.config.lock_seconds, n, http_cycle))

    steps = [
        [Step(s.sql, substitute(s, {file_id: files[i], user_id: bench.tokens[users[i]][0]})) for s in recording.steps]
        for i in range(n)
    ]
    pool = await asyncpg.create_pool(bench.dsn, min_size=n, max_size=n, server_settings=SERVER_SETTINGS)
    assert pool is not None
    try:

        async def sql_cycle(i: int) -> None:
            async with pool.acquire() as conn:
                await replay(conn, steps[i])

        await run_for(min(1.0, bench.config.lock_seconds), n, sql_cycle)
        sql_cycles = await run_for(bench.config.lock_seconds, n, sql_cycle)
    finally:
        await pool.close()
    held = await bench.conn.fetchval("SELECT count(*) FROM locks WHERE file_id = ANY($1)", files)
    if held:
        raise RuntimeError(f"lock throughput: {held} locks left behind")
    app_rate = http_cycles / bench.config.lock_seconds
    floor_rate = sql_cycles / bench.config.lock_seconds
    return {
        "lock_throughput": {
            "clients": n,
            "seconds": bench.config.lock_seconds,
            "cycles_per_s": round(app_rate, 1),
            "floor_cycles_per_s": round(floor_rate, 1),
            "ratio": speed_ratio(1 / floor_rate, 1 / app_rate),
            "cpu_ms_per_cycle": round(cpu / http_cycles * 1000, 2),  # both workers' user + system time
            "statements": len(recording.statements),
            "round_trips_per_cycle": recording.round_trips,
            "round_trip_calls": recording.round_trip_kinds,
        }
    }
