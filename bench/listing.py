"""GET /api/files through Uvicorn against the same SQL on bare asyncpg: first page, a middle cursor page, a search."""

from __future__ import annotations

from typing import Any

from app.services.cursors import encode_cursor
from bench.capture import replay
from bench.measure import compare_latency, summary
from bench.session import Bench


async def middle_cursor(bench: Bench) -> str:
    """The cursor the API hands out for the page that starts halfway through the catalog (sorted by name)."""
    live = await bench.conn.fetchval("SELECT count(*) FROM files WHERE deleted_at IS NULL")
    row = await bench.conn.fetchrow(
        "SELECT path, id FROM files WHERE deleted_at IS NULL ORDER BY path, id OFFSET $1 LIMIT 1", max(live // 2 - 1, 0)
    )
    return encode_cursor(row["path"], row["id"])


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    scenarios: dict[str, dict[str, str | int]] = {
        "list_first_page": {"limit": 50},
        "list_cursor_page": {"limit": 50, "cursor": await middle_cursor(bench)},
        "list_search": {"limit": 50, "q": bench.config.search},
    }
    results = {}
    for name, params in scenarios.items():
        async with bench.capture.record() as recording:
            answer = await bench.capture.client.get("/api/files", params=params, headers=bench.headers)
        answer.raise_for_status()
        listing = recording.one("FROM files", "LIMIT")

        async def http(params: dict[str, str | int] = params) -> None:
            r = await bench.http.get("/api/files", params=params, headers=bench.headers)
            r.raise_for_status()

        async def sql(sql: str = listing.sql, args: tuple[Any, ...] = listing.params) -> None:
            await bench.conn.fetch(sql, *args)

        async def request_sql(steps: list[Any] = recording.steps) -> None:
            await replay(bench.conn, steps)

        samples = await compare_latency(
            {"http": http, "sql": sql, "request_sql": request_sql},
            rounds=bench.config.rounds,
            warmup=bench.config.warmup,
        )
        results[name] = latency_result(samples, statements=len(recording.statements), rows=len(answer.json()["items"]))
    return results


def latency_result(samples: dict[str, list[float]], **extra: int) -> dict[str, Any]:
    """camvault's p50/p95, the floor's (`sql`), all of the request's SQL replayed, and the ratios of the p50s."""
    http, floor, request = summary(samples["http"]), summary(samples["sql"]), summary(samples["request_sql"])
    return {
        "http_p50_ms": http["p50_ms"],
        "http_p95_ms": http["p95_ms"],
        "floor_p50_ms": floor["p50_ms"],
        "floor_p95_ms": floor["p95_ms"],
        "ratio": round(http["p50_ms"] / floor["p50_ms"], 2),
        "request_sql_p50_ms": request["p50_ms"],
        "request_sql_p95_ms": request["p95_ms"],
        "request_sql_ratio": round(http["p50_ms"] / request["p50_ms"], 2),
        "rounds": len(samples["http"]),
        **extra,
    }
