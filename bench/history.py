"""A file with thousands of real versions (benchmark 5, history half): its history page and its version 1.

Checking in 5,000 versions through HTTP would take most of the time budget, so the history is written
straight into the vault's Git repository with `git fast-import`, as camvault itself would have written
it (one commit per version, camvault's trailers naming the action and the user), and the catalog is
then built from Git by `camvault reindex`, the command an operator runs after restoring a repository.
The versions are therefore real: every one has a commit and a blob and can be downloaded.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from app.storage.git_store import GitStore
from bench.listing import measure
from bench.measure import compare_latency, speed_ratio, summary
from bench.session import Bench
from bench.stack import BENCH_USER

HISTORY_PATH = "Fixtures/vise-jaw/OP10-rough.nc"
SEED_PATH = "Fixtures/seed/seed.nc"  # one version; the seeded catalog rows point at its blob and commit
START = 1_767_000_000  # commit times: one minute apart from here


def program(version: int) -> bytes:
    """A small G-code program (about 4 KB) that differs in a few lines from one version to the next."""
    lines = [f"(OP10 rough, vise jaw, revision {version})", "G21 G90 G94", "T1 M6", "S12000 M3"]
    for i in range(120):
        depth = -0.5 - ((i + version) % 7) * 0.25
        lines.append(f"G1 X{i * 0.5:.3f} Y{(i * 37 + version) % 100:.3f} Z{depth:.3f} F{800 + version % 50}")
    lines.append("M30")
    return ("\n".join(lines) + "\n").encode()


def message(summary: str, action: str) -> bytes:
    # The same shape as app.services.files.commit_message, so reindex reads the user and action back.
    return f"{summary}\n\nCamvault-Action: {action}\nCamvault-User: {BENCH_USER}\n".encode()


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream(versions: int) -> bytes:
    chunks: list[bytes] = []
    for n in range(versions + 1):
        when = START + n * 60
        ident = f"{BENCH_USER} <{BENCH_USER}@camvault> {when} +0000"
        chunks.append(b"commit refs/heads/main\n")
        chunks.append(f"author {ident}\ncommitter camvault <camvault@localhost> {when} +0000\n".encode())
        if n == 0:
            chunks.append(_data(message(f"Upload {SEED_PATH}", "upload")))
            chunks.append(f"M 100644 inline {SEED_PATH}\n".encode() + _data(b"G0 X0 Y0\nM30\n"))
        else:
            action = "upload" if n == 1 else "checkin"
            chunks.append(_data(message(f"Version {n} of {HISTORY_PATH}", action)))
            chunks.append(f"M 100644 inline {HISTORY_PATH}\n".encode() + _data(program(n)))
    chunks.append(b"done\n")
    return b"".join(chunks)


def add_files(repo: Path, paths: list[str], blob_sha: str) -> str:
    """One commit on the branch tip adding `paths`, each holding the existing blob `blob_sha`; its sha.

    Run only while nothing else writes: fast-import refuses to move a branch that moved under it.
    """
    tip = subprocess.run(
        ["git", f"--git-dir={repo}", "rev-parse", "refs/heads/main"], capture_output=True, text=True, check=True
    ).stdout.strip()
    when = START
    head = (
        f"commit refs/heads/main\nauthor {BENCH_USER} <{BENCH_USER}@camvault> {when} +0000\n"
        f"committer camvault <camvault@localhost> {when} +0000\n"
    ).encode()
    body = "".join(f"M 100644 {blob_sha} {path}\n" for path in paths).encode()
    stream = head + _data(message(f"Upload {len(paths)} files", "upload")) + f"from {tip}\n".encode() + body
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        input=stream + b"done\n",
        env={**os.environ, "GIT_DIR": str(repo)},
        check=True,
    )
    return subprocess.run(
        ["git", f"--git-dir={repo}", "rev-parse", "refs/heads/main"], capture_output=True, text=True, check=True
    ).stdout.strip()


def build(data_dir: Path, versions: int) -> None:
    """Create the vault's repository (as the server would) and write the seed file and the history into it."""
    store = GitStore.in_data_dir(data_dir)
    asyncio.run(store.ensure_repo())
    subprocess.run(
        ["git", "fast-import", "--quiet", "--done"],
        input=fast_import_stream(versions),
        env={**os.environ, "GIT_DIR": str(store.path)},
        check=True,
    )


async def file_ids(bench: Bench) -> dict[str, int]:
    rows = await bench.conn.fetch("SELECT path, id FROM files WHERE path = ANY($1)", [HISTORY_PATH, SEED_PATH])
    return {r["path"]: r["id"] for r in rows}


async def git_cat_file(repo: Path, blob: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "git", f"--git-dir={repo}", "cat-file", "blob", blob, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0 or not out:
        raise RuntimeError(f"git cat-file {blob} failed")


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    ids = await file_ids(bench)
    many, one = ids[HISTORY_PATH], ids[SEED_PATH]
    versions = await bench.conn.fetchval("SELECT count(*) FROM file_versions WHERE file_id = $1", many)
    needles = ("FROM file_versions", "LIMIT")
    page, _ = await measure(bench, f"/api/files/{many}/versions", {"limit": 50}, needles)
    single, _ = await measure(bench, f"/api/files/{one}/versions", {"limit": 50}, needles)
    results: dict[str, dict[str, Any]] = {
        "history_page": {**page, "versions": versions},
        "history_page_one_version": {**single, "versions": 1},
    }

    repo = bench.server.data_dir / "vault.git"
    first = await bench.conn.fetchval("SELECT blob_sha FROM file_versions WHERE file_id = $1 AND version = 1", many)
    url = f"/api/files/{many}/content"

    async def get(params: dict[str, int]) -> None:
        r = await bench.http.get(url, params=params, headers=bench.headers)
        r.raise_for_status()

    async def v1() -> None:
        await get({"version": 1})

    async def latest() -> None:
        await get({})

    async def floor() -> None:
        await git_cat_file(repo, first)

    started = time.perf_counter()
    samples = await compare_latency(
        {"v1": v1, "latest": latest, "floor": floor}, rounds=bench.config.rounds, warmup=bench.config.warmup
    )
    old, new, bare = summary(samples["v1"]), summary(samples["latest"]), summary(samples["floor"])
    results["download_version_1"] = {
        "http_p50_ms": old["p50_ms"],
        "http_p99_ms": old["p99_ms"],
        "floor_p50_ms": bare["p50_ms"],
        "floor_p99_ms": bare["p99_ms"],
        "ratio": speed_ratio(bare["p50_ms"], old["p50_ms"]),
        "latest_p50_ms": new["p50_ms"],
        "latest_p99_ms": new["p99_ms"],
        "versions": versions,
        "bytes": len(program(1)),
        "rounds": len(samples["v1"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return results


def growth(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    """History of the many-version file over that of a one-version file; version 1 over the latest: 1.0 = flat."""
    return {
        "history_page_many_over_one": round(
            results["history_page"]["http_p50_ms"] / results["history_page_one_version"]["http_p50_ms"], 2
        ),
        "download_version_1_over_latest": round(
            results["download_version_1"]["http_p50_ms"] / results["download_version_1"]["latest_p50_ms"], 2
        ),
    }
