"""Run every benchmark once and report camvault against its floor: `make bench`, or `BENCH_QUICK=1 make bench`.

Settings (environment): BENCH_QUICK=1 for a tiny smoke run; BENCH_SCALES, BENCH_VERSIONS, BENCH_ROUNDS,
BENCH_WARMUP, BENCH_RACERS, BENCH_RACE_ROUNDS, BENCH_LOCK_CLIENTS, BENCH_LOCK_SECONDS, BENCH_UPLOAD_MIB,
BENCH_TRANSFERS, BENCH_WS_CLIENTS, BENCH_WS_ROUNDS, BENCH_SEARCH, BENCH_NC_MB, BENCH_NC_RUNS, BENCH_BULK_FILES,
BENCH_BULK_ROUNDS to change one size;
BENCH_ONLY (say `transfer,race`) to run only some benchmarks while profiling; BENCH_TMP (default
.bench-tmp) and BENCH_RESULTS (default bench/results.json) for where things go; DATABASE_URL to use that
PostgreSQL server (the role needs CREATEDB) instead of an embedded one. See bench/README.md.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.core.db import SERVER_SETTINGS, asyncpg_dsn
from bench import designs, fanout, history, listing, locks, nc, nginx, race, report, stack, transfer, whole_vault
from bench.capture import capture_app
from bench.session import Bench, Config
from tests.db import create_users

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024**2

NOTES = [
    "ratio: camvault's speed relative to the floor's, measured in the same run: the floor's time over camvault's "
    "(p50 over p50), or camvault's throughput over the floor's; 1.0 = as fast as the floor, 0.1 = ten times slower",
    "server: Gunicorn with docker/gunicorn.conf.py and 2 Uvicorn workers, reached directly on loopback (no nginx); "
    "embedded PostgreSQL unless DATABASE_URL is set; a fresh DATA_DIR; the client runs in this process",
    "listing: the catalog grows by SQL inserts shaped like uploads (each row points at a real blob and commit); the "
    "history file's 5,000 versions are real Git commits (git fast-import), catalogued by `camvault reindex`",
    "floors of SQL: the statements the app sent for the same request, captured in-process with SQLAlchemy events "
    "(bench/capture.py), same text and parameters, on bare asyncpg",
]


def config_from_env() -> Config:
    env = os.environ
    quick = env.get("BENCH_QUICK", "") not in ("", "0")
    tmp_root = Path(env.get("BENCH_TMP") or ROOT / ".bench-tmp").absolute()

    def number(name: str, default: float, small: float) -> float:
        return float(env.get(name) or (small if quick else default))

    def whole(name: str, default: int, small: int) -> int:
        return int(number(name, default, small))

    scales = env.get("BENCH_SCALES") or ("50,100,200" if quick else "1000,10000,50000")
    return Config(
        quick=quick,
        scales=tuple(int(s) for s in scales.split(",")),
        history_versions=whole("BENCH_VERSIONS", 5000, 20),
        rounds=whole("BENCH_ROUNDS", 200, 10),
        warmup=whole("BENCH_WARMUP", 20, 2),
        racers=whole("BENCH_RACERS", 200, 10),
        race_rounds=whole("BENCH_RACE_ROUNDS", 20, 2),
        lock_clients=whole("BENCH_LOCK_CLIENTS", 32, 4),
        lock_seconds=number("BENCH_LOCK_SECONDS", 10, 0.5),
        upload_bytes=whole("BENCH_UPLOAD_MIB", 256, 2) * MIB,
        transfers=whole("BENCH_TRANSFERS", 3, 1),
        ws_clients=whole("BENCH_WS_CLIENTS", 500, 10),
        ws_rounds=whole("BENCH_WS_ROUNDS", 20, 2),
        search=env.get("BENCH_SEARCH") or "j004",
        nc_bytes=int(number("BENCH_NC_MB", 20, 1) * 1_000_000),
        nc_runs=whole("BENCH_NC_RUNS", 3, 1),
        bulk_files=whole("BENCH_BULK_FILES", 363, 20),
        bulk_rounds=whole("BENCH_BULK_ROUNDS", 3, 1),
        only=frozenset(filter(None, (env.get("BENCH_ONLY") or "").split(","))),
        tmp=tmp_root / f"run-{os.getpid()}",
        results=Path(env.get("BENCH_RESULTS") or ROOT / "bench" / "results.json").absolute(),
    )


def remove_scratch(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    with contextlib.suppress(OSError):
        tmp.parent.rmdir()  # .bench-tmp itself, unless another run is using it


def commit() -> str:
    """The checkout's commit, with `-dirty` when it has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    sha = git("rev-parse", "HEAD") or "unknown"
    return sha + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


async def timed(name: str, seconds: dict[str, float], work: Awaitable[Any]) -> Any:
    print(f"{name} ...", flush=True)
    started = time.perf_counter()
    result = await work
    seconds[name] = round(time.perf_counter() - started, 1)
    print(f"{name}: {seconds[name]} s", flush=True)
    return result


async def run_benchmarks(config: Config, server: stack.Server, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tokens = await stack.tokens(url)
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=600) as http,
        # The server's DATA_DIR: the capture app is one more worker of the same vault, so its writes (uploads
        # whose round trips are counted) go to the same Git repository as the catalog names.
        capture_app(url, server.data_dir) as capture,
    ):
        conn = await asyncpg.connect(asyncpg_dsn(url), server_settings=SERVER_SETTINGS)
        try:
            bench = Bench(
                config=config,
                server=server,
                http=http,
                headers={"Authorization": f"Bearer {tokens[stack.BENCH_USER][1]}"},
                tokens=tokens,
                capture=capture,
                conn=conn,
                dsn=asyncpg_dsn(url),
            )
            seed = await conn.fetchrow(
                "SELECT blob_sha, head_commit, size FROM files WHERE path = $1", history.SEED_PATH
            )

            async def grow(size: int) -> None:
                # The new files go into Git first (one commit, all pointing at the seed file's blob), then into the
                # catalog, so the vault's tree is as large as its catalog, as after real uploads.
                others = await conn.fetchval(
                    "SELECT count(*) FROM files WHERE deleted_at IS NULL AND path NOT LIKE $1", listing.SEEDED + "%"
                )
                have, target = await stack.seeded_count(url), size - others
                if target <= have:
                    return
                paths = [stack.seed_path(g) for g in range(have + 1, target + 1)]
                made = history.add_files(server.data_dir / "vault.git", paths, seed["blob_sha"])
                await stack.seed_catalog(url, paths, seed["blob_sha"], made, seed["size"])

            results: dict[str, Any] = {}
            seconds: dict[str, float] = {}
            if config.wants("listing"):
                results.update(await timed("5. listing at each vault size", seconds, listing.run(bench, grow)))
            if config.wants("history"):
                results.update(await timed("5. history", seconds, history.run(bench)))
            if config.wants("listing") and config.wants("history"):
                results["growth"] = listing.growth(results, config.scales) | history.growth(results)
            if config.wants("whole"):
                # After the listing, so at its largest vault: the export reads every file of it.
                results.update(await timed("8. whole vault", seconds, whole_vault.run(bench)))
            if config.wants("race"):
                results.update(await timed("1. lock race", seconds, race.run(bench)))
            if config.wants("locks"):
                results.update(await timed("2. lock throughput", seconds, locks.run(bench)))
            if config.wants("designs"):
                # After the listing and the whole vault: the tutorial design's catalog is as large as the vault.
                results.update(await timed("9. other designs", seconds, designs.run(bench)))
            notes: list[str] = []
            if config.wants("transfer"):
                moved, notes = await timed("3-4. upload and download", seconds, transfer.run(bench))
                results.update(moved)
            if config.wants("fanout"):
                results.update(await timed("6. WebSocket fan-out", seconds, fanout.run(bench)))
            if config.wants("nc"):
                measured, nc_notes = await timed("7. NC programs", seconds, nc.run(bench))
                results.update(measured)
                notes += nc_notes
            machine = {
                "nproc": len(os.sched_getaffinity(0)),
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": await conn.fetchval("SHOW server_version"),
                "nginx": nginx.nginx_version(binary) if (binary := nginx.nginx_binary()) else None,
                "platform": platform.platform(),
            }
        finally:
            await conn.close()
    return results, {"machine": machine, "seconds": seconds, "notes": NOTES + notes}


def main() -> int:
    started = time.perf_counter()
    config = config_from_env()
    config.tmp.mkdir(parents=True)
    # Registered before the embedded PostgreSQL registers its own stop: atexit runs last-in first-out, so the
    # server under config.tmp has stopped by the time its folder is removed.
    atexit.register(remove_scratch, config.tmp)
    fds = stack.raise_fd_limit()
    print(f"camvault bench{' (quick)' if config.quick else ''}: scratch {config.tmp}, open files {fds}", flush=True)

    with stack.database(config.tmp) as url:
        asyncio.run(create_users(url, stack.users()))
        asyncio.run(stack.add_racers(url, max(config.racers, config.lock_clients)))
        env, data_dir = stack.server_environment(url, config.tmp, max_upload_bytes=config.upload_bytes + MIB)
        history.build(data_dir, config.history_versions)
        print(f"history of {config.history_versions} versions written; {stack.camvault_command(env, 'reindex')}")
        server = stack.start_server(url, config.tmp, max_upload_bytes=config.upload_bytes + MIB)
        print(f"Gunicorn up at {server.url}, workers {[w.pid for w in server.workers()]}", flush=True)
        try:
            results, about = asyncio.run(run_benchmarks(config, server, url))
        finally:
            server.stop()

    document = {
        "commit": commit(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": about["machine"]["nproc"],
        "python": about["machine"]["python"],
        **about,
        "total_seconds": round(time.perf_counter() - started, 1),
        "config": {
            "quick": config.quick,
            "scales": list(config.scales),
            "history_versions": config.history_versions,
            "rounds": config.rounds,
            "warmup": config.warmup,
            "racers": config.racers,
            "race_rounds": config.race_rounds,
            "lock_clients": config.lock_clients,
            "lock_seconds": config.lock_seconds,
            "upload_bytes": config.upload_bytes,
            "transfers": config.transfers,
            "ws_clients": config.ws_clients,
            "ws_rounds": config.ws_rounds,
            "search": config.search,
            "nc_bytes": config.nc_bytes,
            "nc_runs": config.nc_runs,
            "bulk_files": config.bulk_files,
            "bulk_rounds": config.bulk_rounds,
            "only": sorted(config.only),
        },
        "results": results,
    }
    document["table"] = report.table(results, document["config"])
    report.write_json(config.results, document)
    print()
    print(document["table"])
    print()
    for note in document["notes"]:
        print(f"- {note}")
    print(f"\n{document['total_seconds']} s in all; written to {config.results}", file=sys.stderr)
    return 0
