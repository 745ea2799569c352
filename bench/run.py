"""Run every benchmark once and report camvault against its floor: `make bench`, or `BENCH_QUICK=1 make bench`.

Settings (environment): BENCH_QUICK=1 for a tiny smoke run; BENCH_FILES, BENCH_ROUNDS, BENCH_WARMUP,
BENCH_UPLOAD_MIB, BENCH_TRANSFERS, BENCH_SEARCH to change one size; BENCH_TMP (default .bench-tmp) and
BENCH_RESULTS (default bench/results.json) for where things go; DATABASE_URL to use that PostgreSQL server
(the role needs CREATEDB) instead of an embedded one.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.core.db import asyncpg_dsn
from bench import listing, locks, nginx, report, stack, transfer
from bench.capture import capture_app
from bench.session import Bench, Config
from tests.db import create_users
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024**2

NOTES = [
    "listing: the catalog rows are inserted with SQL and have no Git blobs behind them (listings read only the "
    "catalog); the check-out file and the large file are real uploads",
    "floor of a listing: the listing SELECT the app sent, same text and parameters, on bare asyncpg; "
    "'all request SQL' replays every statement of the request in its transactions",
    "floor of the lock cycle: the INSERT .. ON CONFLICT that decides the check-out plus the DELETE of the release, "
    "each in autocommit",
    "SQL captured in-process with SQLAlchemy before_cursor_execute/commit/rollback events (bench/capture.py)",
    "ratio: camvault's time over the floor's (p50 for latency, median run for throughput); 1.0 = as fast as the floor",
    "one Uvicorn worker, the benchmark client and PostgreSQL share the machine's cores",
]


def config_from_env() -> Config:
    env = os.environ
    quick = env.get("BENCH_QUICK", "") not in ("", "0")
    tmp_root = Path(env.get("BENCH_TMP") or ROOT / ".bench-tmp").absolute()

    def number(name: str, default: int, small: int) -> int:
        return int(env.get(name) or (small if quick else default))

    return Config(
        quick=quick,
        files=number("BENCH_FILES", 10_000, 300),
        rounds=number("BENCH_ROUNDS", 200, 10),
        warmup=number("BENCH_WARMUP", 20, 2),
        upload_bytes=number("BENCH_UPLOAD_MIB", 256, 2) * MIB,
        transfers=number("BENCH_TRANSFERS", 3, 1),
        search=env.get("BENCH_SEARCH") or ("op001" if quick else "op01"),
        tmp=tmp_root / f"run-{os.getpid()}",
        results=Path(env.get("BENCH_RESULTS") or ROOT / "bench" / "results.json").absolute(),
    )


def remove_scratch(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.suppress(OSError):
        tmp.parent.rmdir()  # .bench-tmp itself, unless another run is using it


async def run_benchmarks(config: Config, server: LiveServer, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=600) as http,
        capture_app(url, config.tmp / "capture") as capture,
    ):
        r = await http.post("/api/auth/token", json={"login": stack.BENCH_USER, "password": stack.PASSWORD})
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            bench = Bench(config=config, http=http, headers=headers, capture=capture, conn=conn)
            results: dict[str, Any] = {}
            results.update(await listing.run(bench))
            results.update(await locks.run(bench))
            moved, notes = await transfer.run(bench)
            results.update(moved)
            machine = {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": await conn.fetchval("SHOW server_version"),
                "nginx": nginx.nginx_version(binary) if (binary := nginx.nginx_binary()) else None,
                "platform": platform.platform(),
            }
        finally:
            await conn.close()
    return results, {"machine": machine, "notes": NOTES + notes}


def main() -> int:
    config = config_from_env()
    config.tmp.mkdir(parents=True)
    # Registered before the embedded PostgreSQL registers its own stop: atexit runs last-in first-out, so the
    # server under config.tmp has stopped by the time its folder is removed.
    atexit.register(remove_scratch, config.tmp)
    print(f"camvault bench{' (quick)' if config.quick else ''}: scratch {config.tmp}", flush=True)

    with stack.database(config.tmp) as url:
        asyncio.run(create_users(url, stack.users()))
        asyncio.run(stack.seed_catalog(url, config.files))
        print(f"seeded {config.files} catalog rows; starting one Uvicorn worker", flush=True)
        server = stack.start_server(url, config.tmp, max_upload_bytes=config.upload_bytes + MIB)
        try:
            results, about = asyncio.run(run_benchmarks(config, server, url))
        finally:
            server.stop()

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **about,
        "config": {
            "quick": config.quick,
            "files": config.files,
            "rounds": config.rounds,
            "warmup": config.warmup,
            "upload_bytes": config.upload_bytes,
            "transfers": config.transfers,
            "search": config.search,
        },
        "results": results,
    }
    report.write_json(config.results, document)
    print()
    print(report.table(results))
    print()
    for note in document["notes"]:
        print(f"- {note}")
    print(f"\nwritten to {config.results}", file=sys.stderr)
    return 0
