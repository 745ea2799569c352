"""Benchmark 1, the lock race: many users check out one file at the same moment; exactly one may win.

Each round sends one check-out per racer (each a distinct user with its own token) at once, through both
Gunicorn workers, and waits for every answer. Double grants are counted twice over: from the HTTP answers
(more than one 200) and from the database (more than one `lock.checkout` audit row for the file in the
round, or a lock row held by someone other than the one winner). The winner then releases the lock.

Floor: the statement that decides a check-out (the `INSERT .. ON CONFLICT DO UPDATE .. WHERE expired
RETURNING` the app sends, captured in-process) sent by every racer at once on bare asyncpg connections,
with the same count of winners checked.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx

from app.core.db import SERVER_SETTINGS
from bench.capture import Step
from bench.measure import speed_ratio, summary
from bench.session import Bench
from bench.stack import RACER

FLOOR_CONNECTIONS = 40  # bare connections for the floor; PostgreSQL's default limit is 100 in all


def substitute(step: Step, swaps: dict[int, int]) -> tuple[Any, ...]:
    """The step's parameters with the recorded file and user ids swapped for another file's and user's."""
    return tuple(swaps.get(p, p) if isinstance(p, int) and not isinstance(p, bool) else p for p in step.params)


async def upload_files(bench: Bench, names: list[str], folder: str) -> list[int]:
    """Small real files (a Git blob and commit behind each), in one upload."""
    parts = [("files", (name, f"G0 X0 Y0\n({name})\nM30\n".encode())) for name in names]
    r = await bench.http.post("/api/files", files=parts, data={"folder": folder}, headers=bench.headers)
    r.raise_for_status()
    by_path = {f["path"]: f["id"] for f in r.json()["files"]}
    return [by_path[f"{folder}/{name}"] for name in names]


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    """The race at half the racers and at all of them (100 and 200 by default): `lock_race_<n>` each, and
    `lock_race` for the largest."""
    (file_id,) = await upload_files(bench, ["race.nc"], "bench")
    results: dict[str, dict[str, Any]] = {}
    for count in sorted({max(2, bench.config.racers // 2), bench.config.racers}):
        results[f"lock_race_{count}"] = await race(bench, file_id, [RACER.format(i) for i in range(count)])
        print(f"  race of {count}: {results[f'lock_race_{count}']['round_p50_ms']:.0f} ms p50 a round", flush=True)
    results["lock_race"] = results[f"lock_race_{bench.config.racers}"]
    return results


async def race(bench: Bench, file_id: int, racers: list[str]) -> dict[str, Any]:
    checkout = f"/api/files/{file_id}/checkout"
    limits = httpx.Limits(max_connections=len(racers), max_keepalive_connections=len(racers))
    rounds: list[dict[str, Any]] = []
    for _ in range(bench.config.race_rounds):
        last_audit = await bench.conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")
        # New connections each round, as racers on their own machines would open: a kept-alive one could sit idle
        # past Gunicorn's keep-alive timeout while a long round finishes, and be closed under the next request.
        async with httpx.AsyncClient(base_url=bench.server.url, timeout=120, limits=limits) as client:
            started = time.perf_counter()
            answers = await asyncio.gather(
                *(client.post(checkout, json={"message": "race"}, headers=bench.auth(name)) for name in racers)
            )
            seconds = time.perf_counter() - started
        codes = [a.status_code for a in answers]
        in_flight = sum(1 for a in answers if a.status_code == 409 and isinstance(a.json().get("detail"), str))
        winners = [name for name, a in zip(racers, answers, strict=True) if a.status_code == 200]
        unexpected = sorted({c for c in codes if c not in (200, 409)})
        if unexpected:
            raise RuntimeError(f"lock race: unexpected answers {unexpected}")
        audited = await bench.conn.fetch(
            "SELECT actor_name FROM audit_events WHERE id > $1 AND action = 'lock.checkout' "
            "AND (details->>'file_id')::bigint = $2",
            last_audit,
            file_id,
        )
        holder = await bench.conn.fetchval(
            "SELECT u.username FROM locks l JOIN users u ON u.id = l.user_id WHERE l.file_id = $1", file_id
        )
        rounds.append(
            {
                "seconds": seconds,
                "http_grants": len(winners),
                "audit_grants": len(audited),
                "holder_matches": len(winners) == 1 and holder == winners[0] == audited[0]["actor_name"],
                "in_flight": in_flight,
            }
        )
        if holder is not None:
            r = await bench.http.post(f"/api/files/{file_id}/release", headers=bench.auth(holder))
            r.raise_for_status()

    floor_rounds, floor_grants, loser_trips = await floor(bench, file_id, racers)
    app = summary([r["seconds"] * 1000 for r in rounds])
    bare = summary([s * 1000 for s in floor_rounds])
    return {
        "racers": len(racers),
        "rounds": len(rounds),
        "double_grants": sum(max(r["http_grants"], r["audit_grants"], 1) - 1 for r in rounds),
        "rounds_without_winner": sum(1 for r in rounds if r["http_grants"] == 0),
        "audit_agrees": all(r["http_grants"] == r["audit_grants"] and r["holder_matches"] for r in rounds),
        "round_p50_ms": app["p50_ms"],
        "round_p99_ms": app["p99_ms"],
        "floor_round_p50_ms": bare["p50_ms"],
        "floor_round_p99_ms": bare["p99_ms"],
        "floor_double_grants": sum(g - 1 for g in floor_grants if g > 1),
        "ratio": speed_ratio(bare["p50_ms"], app["p50_ms"]),
        "losers_in_flight": sum(r["in_flight"] for r in rounds),
        "round_trips_loser": loser_trips,
    }


async def floor(bench: Bench, file_id: int, racers: list[str]) -> tuple[list[float], list[int], int]:
    recorder_user = racers[-1]
    user_id = bench.tokens[recorder_user][0]
    async with bench.capture.record() as recording:
        r = await bench.capture.client.post(
            f"/api/files/{file_id}/checkout", json={"message": "race"}, headers=bench.auth(recorder_user)
        )
        r.raise_for_status()
    async with bench.capture.record() as lost:  # a loser against a committed holder
        r = await bench.capture.client.post(
            f"/api/files/{file_id}/checkout", json={"message": "race"}, headers=bench.auth(racers[0])
        )
        assert r.status_code == 409, r.text
    (
        await bench.capture.client.post(f"/api/files/{file_id}/release", headers=bench.auth(recorder_user))
    ).raise_for_status()
    acquire = recording.one("INSERT INTO locks", "ON CONFLICT")
    # The deciding statement opens the check-out's history row too (since issue 20): the release closes it.
    release = (
        "WITH gone AS (DELETE FROM locks WHERE file_id = $1) UPDATE lock_history SET ended_at = now(), "
        "end_reason = 'released' WHERE file_id = $1 AND ended_at IS NULL"
    )
    pool = await asyncpg.create_pool(
        bench.dsn, min_size=FLOOR_CONNECTIONS, max_size=FLOOR_CONNECTIONS, server_settings=SERVER_SETTINGS
    )
    assert pool is not None
    times, grants = [], []
    try:

        async def one(name: str) -> bool:
            params = substitute(acquire, {user_id: bench.tokens[name][0]})
            async with pool.acquire() as conn:
                return await conn.fetchrow(acquire.sql, *params) is not None

        for _ in range(bench.config.race_rounds):
            started = time.perf_counter()
            won = await asyncio.gather(*(one(name) for name in racers))
            times.append(time.perf_counter() - started)
            grants.append(sum(won))
            await bench.conn.execute(release, file_id)
    finally:
        await pool.close()
    return times, grants, lost.round_trips
