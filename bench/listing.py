"""GET /api/files through Gunicorn against the same SQL on bare asyncpg: the first page and a search, at each
vault size (benchmark 5, listing half)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from bench.capture import Recording, replay
from bench.measure import compare_latency, speed_ratio, summary
from bench.session import Bench

SEEDED = "Jobs/"  # the seeded rows' top folder
CARD_FILTER = "P00007"  # a part number of the seeded cards (bench/stack.py seed_catalog)


async def measure(
    bench: Bench, path: str, params: dict[str, str | int], floor_needles: tuple[str, ...]
) -> tuple[dict[str, Any], Any]:
    """`GET path` through the server against the one statement (found by `floor_needles`) and against every
    statement the request sent, all three recorded from the in-process capture app and interleaved."""
    async with bench.capture.record() as recording:
        answer = await bench.capture.client.get(path, params=params, headers=bench.headers)
    answer.raise_for_status()
    floor = recording.one(*floor_needles)

    async def http() -> None:
        r = await bench.http.get(path, params=params, headers=bench.headers)
        r.raise_for_status()

    async def sql() -> None:
        await bench.conn.fetch(floor.sql, *floor.params)

    async def request_sql() -> None:
        await replay(bench.conn, recording.steps)

    samples = await compare_latency(
        {"http": http, "sql": sql, "request_sql": request_sql},
        rounds=bench.config.rounds,
        warmup=bench.config.warmup,
    )
    return latency_result(samples, recording), answer.json()


def latency_result(samples: dict[str, list[float]], recording: Recording, **extra: Any) -> dict[str, Any]:
    """camvault's p50/p99, the floor's (`sql`), all of the request's SQL replayed; ratios of the p50s as speed
    relative to the floor (floor time / camvault time)."""
    http, floor, request = summary(samples["http"]), summary(samples["sql"]), summary(samples["request_sql"])
    return {
        "http_p50_ms": http["p50_ms"],
        "http_p99_ms": http["p99_ms"],
        "floor_p50_ms": floor["p50_ms"],
        "floor_p99_ms": floor["p99_ms"],
        "ratio": speed_ratio(floor["p50_ms"], http["p50_ms"]),
        "request_sql_p50_ms": request["p50_ms"],
        "request_sql_p99_ms": request["p99_ms"],
        "request_sql_ratio": speed_ratio(request["p50_ms"], http["p50_ms"]),
        "statements": len(recording.statements),
        "rounds": len(samples["http"]),
        **extra,
    }


async def run(bench: Bench, grow: Callable[[int], Awaitable[None]]) -> dict[str, dict[str, Any]]:
    """For each vault size: grow the catalog to it, then measure the first page and a search."""
    results: dict[str, dict[str, Any]] = {}
    for size in bench.config.scales:
        await grow(size)
        live = await bench.conn.fetchval("SELECT count(*) FROM files WHERE deleted_at IS NULL")
        page, _ = await measure(bench, "/api/files", {"limit": 50}, ("FROM files", "LIMIT"))
        results[f"list_first_page_{size}"] = {**page, "files": live}
        found, body = await measure(
            bench, "/api/files", {"limit": 50, "q": bench.config.search}, ("FROM files", "LIMIT")
        )
        matches = await bench.conn.fetchval(
            "SELECT count(*) FROM files WHERE deleted_at IS NULL AND path_key LIKE $1",
            f"%{bench.config.search.lower()}%",
        )
        results[f"list_search_{size}"] = {**found, "files": live, "matches": matches, "rows": len(body["items"])}
        # A data card filter: the files of one part number (the shop's usual question), first page by name.
        carded, body = await measure(
            bench,
            "/api/files",
            {"limit": 50, "count": "true", "card": f"part_number:eq:{CARD_FILTER}"},
            ("FROM files", "LIMIT"),
        )
        results[f"list_card_filter_{size}"] = {**carded, "files": live, "matches": body["total"]}
        results[f"upload_small_{size}"] = {**await small_uploads(bench, size), "files": live}
        print(f"  listing at {size} files: first page {page['http_p50_ms']:.1f} ms p50", flush=True)
    return results


async def small_uploads(bench: Bench, size: int) -> dict[str, Any]:
    """A write's cost at this vault size: uploading a small new file (a commit whose tree holds every file)
    against writing and fsyncing the same bytes to a new file on the same disk."""
    content = b"G0 X0 Y0\nG1 Z-1 F300\nM30\n"
    folder = bench.config.tmp / "small-writes"
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1_000_000))

    async def http() -> None:
        name = f"w{size}-{next(counter)}.nc"
        r = await bench.http.post(
            "/api/files", files={"files": (name, content)}, data={"folder": "bench/writes"}, headers=bench.headers
        )
        r.raise_for_status()

    async def disk() -> None:
        target = folder / f"w{next(counter)}.nc"
        with target.open("wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())

    rounds = max(3, bench.config.rounds // 5)
    samples = await compare_latency({"http": http, "disk": disk}, rounds=rounds, warmup=2)
    http_ms, disk_ms = summary(samples["http"]), summary(samples["disk"])
    return {
        "http_p50_ms": http_ms["p50_ms"],
        "http_p99_ms": http_ms["p99_ms"],
        "floor_p50_ms": disk_ms["p50_ms"],
        "floor_p99_ms": disk_ms["p99_ms"],
        "ratio": speed_ratio(disk_ms["p50_ms"], http_ms["p50_ms"]),
        "rounds": rounds,
    }


def growth(results: dict[str, dict[str, Any]], scales: tuple[int, ...]) -> dict[str, Any]:
    """How much slower the largest vault is than the smallest (p50 over p50): 1.0 = flat."""
    small, large = scales[0], scales[-1]
    return {
        f"{name}_{large}_over_{small}": round(
            results[f"{name}_{large}"]["http_p50_ms"] / results[f"{name}_{small}"]["http_p50_ms"], 2
        )
        for name in ("list_first_page", "list_search", "list_card_filter", "upload_small")
    }
