"""The bench harness (`make bench`) still runs: a tiny run, checked for every result, never for speed.

Performance is measured in bench/, not here: this test asserts only that each benchmark produced
positive numbers, whatever they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.nginx import nginx_binary

ROOT = Path(__file__).resolve().parents[1]

LATENCY = ("list_first_page", "list_cursor_page", "list_search", "lock_cycle")
LATENCY_KEYS = (
    "http_p50_ms",
    "http_p95_ms",
    "floor_p50_ms",
    "floor_p95_ms",
    "ratio",
    "request_sql_p50_ms",
    "request_sql_p95_ms",
    "request_sql_ratio",
    "statements",
    "rounds",
)
THROUGHPUT_KEYS = ("bytes", "app_mb_s", "floor_mb_s", "ratio", "runs")


def test_quick_bench_reports_every_result(server_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {
        **os.environ,
        # The suite's PostgreSQL server: the bench makes (and drops) a database of its own on it.
        "DATABASE_URL": server_url,
        "BENCH_QUICK": "1",
        "BENCH_FILES": "120",
        "BENCH_ROUNDS": "3",
        "BENCH_WARMUP": "1",
        "BENCH_UPLOAD_MIB": "1",
        "BENCH_TMP": str(tmp_path / "scratch"),
        "BENCH_RESULTS": str(results),
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads(results.read_text())

    found = document["results"]
    for name in LATENCY:
        for key in LATENCY_KEYS:
            assert found[name][key] > 0, (name, key, found[name])
    assert found["upload"]["bytes"] == 1024**2
    for key in THROUGHPUT_KEYS:
        assert found["upload"][key] > 0, ("upload", key, found["upload"])
    if nginx_binary() is None:
        assert found["download"] == {"skipped": "nginx not installed"}
    else:
        for key in THROUGHPUT_KEYS:
            assert found["download"][key] > 0, ("download", key, found["download"])

    assert document["machine"]["cores"] > 0
    assert "GET /api/files?limit=50 (first page)" in run.stdout  # the table was printed
    assert not (tmp_path / "scratch").exists()  # the scratch folder is cleaned up
