"""The bench harness (`make bench`) still runs: a tiny run, checked for every result, never for speed.

Performance is measured in bench/, not here: this test asserts only that each benchmark produced
its numbers (positive where they are times or rates) and the facts that are not speed: no double
grant in the lock race, both Gunicorn workers holding WebSockets, the table printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.nginx import nginx_binary
from tests.e2e.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
SCALES = (60, 120)

LATENCY_KEYS = (
    "http_p50_ms",
    "http_p99_ms",
    "floor_p50_ms",
    "floor_p99_ms",
    "ratio",
    "request_sql_p50_ms",
    "request_sql_ratio",
    "statements",
    "rounds",
)
THROUGHPUT_KEYS = ("bytes", "app_mb_s", "floor_mb_s", "ratio", "runs")


def positive(found: dict[str, object], name: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = found[name][key]  # type: ignore[index]
        assert isinstance(value, int | float) and value > 0, (name, key, found[name])


def test_quick_bench_reports_every_result(server_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    env = {
        **os.environ,
        # The suite's PostgreSQL server: the bench makes (and drops) a database of its own on it.
        "DATABASE_URL": server_url,
        "BENCH_QUICK": "1",
        "BENCH_SCALES": ",".join(map(str, SCALES)),
        "BENCH_VERSIONS": "12",
        "BENCH_ROUNDS": "3",
        "BENCH_WARMUP": "1",
        "BENCH_RACERS": "8",
        "BENCH_RACE_ROUNDS": "2",
        "BENCH_LOCK_CLIENTS": "3",
        "BENCH_LOCK_SECONDS": "0.3",
        "BENCH_UPLOAD_MIB": "1",
        "BENCH_WS_CLIENTS": "8",
        "BENCH_WS_ROUNDS": "2",
        "BENCH_NC_MB": "0.2",
        "BENCH_TMP": str(tmp_path / "scratch"),
        "BENCH_RESULTS": str(results),
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads(results.read_text())
    found = document["results"]

    # 1. The lock race: exactly one winner a round, by the HTTP answers and by the audit rows and lock row.
    race = found["lock_race"]
    assert race["racers"] == 8 and race["rounds"] == 2
    assert race["double_grants"] == 0 and race["floor_double_grants"] == 0
    assert race["rounds_without_winner"] == 0
    assert race["audit_agrees"] is True
    positive(found, "lock_race", ("round_p50_ms", "round_p99_ms", "floor_round_p50_ms", "ratio"))

    # 2. Lock throughput.
    assert found["lock_throughput"]["clients"] == 3
    positive(found, "lock_throughput", ("cycles_per_s", "floor_cycles_per_s", "ratio", "statements"))

    # 3. Upload, with the workers' memory.
    assert found["upload"]["bytes"] == 1024**2
    positive(found, "upload", (*THROUGHPUT_KEYS, "peak_worker_rss_mib", "peak_workers_rss_mib"))
    assert found["upload"]["peak_workers_rss_mib"] >= found["upload"]["peak_worker_rss_mib"]

    # 4. Downloads of the latest version and of version 1, against the disk and (where installed) nginx.
    for name, version in (("download_latest", 2), ("download_old", 1)):
        positive(found, name, THROUGHPUT_KEYS)
        assert found[name]["version"] == version
        if nginx_binary() is not None:
            positive(found, name, ("nginx_mb_s", "nginx_ratio"))

    # 5. Listing and search at each size; the history file and its version 1.
    for size in SCALES:
        positive(found, f"list_first_page_{size}", LATENCY_KEYS)
        positive(found, f"list_search_{size}", LATENCY_KEYS)
        assert found[f"list_first_page_{size}"]["files"] == size
        assert found[f"list_search_{size}"]["matches"] > 0
        positive(found, f"list_card_filter_{size}", LATENCY_KEYS)
        assert found[f"list_card_filter_{size}"]["matches"] > 0
        positive(found, f"upload_small_{size}", ("http_p50_ms", "http_p99_ms", "floor_p50_ms", "ratio", "rounds"))
    positive(found, "history_page", LATENCY_KEYS)
    assert found["history_page"]["versions"] == 12
    positive(found, "history_page_one_version", LATENCY_KEYS)
    positive(found, "download_version_1", ("http_p50_ms", "http_p99_ms", "floor_p50_ms", "latest_p50_ms", "ratio"))
    assert set(found["growth"]) == {
        "list_first_page_120_over_60",
        "list_search_120_over_60",
        "list_card_filter_120_over_60",
        "upload_small_120_over_60",
        "history_page_many_over_one",
        "download_version_1_over_latest",
    }

    # 6. Fan-out: every socket heard every check-out, and both workers held sockets.
    ws = found["ws_fanout"]
    assert ws["clients"] == 8 and ws["events"] == 8 * 2
    assert len(ws["sockets_per_worker"]) == 2 and min(ws["sockets_per_worker"]) > 0
    positive(found, "ws_fanout", ("from_request_p50_ms", "from_request_p99_ms", "floor_p50_ms", "ratio"))
    assert isinstance(ws["p50_ms"], float)  # from the response: negative when the event beat it

    # 7. NC programs: the facts against a disk write and an upload, and the browser from click to drawn.
    assert found["nc_facts"]["bytes"] >= 200_000 and found["nc_facts"]["lines"] > 10_000
    positive(found, "nc_facts", ("facts_s", "floor_s", "ratio", "upload_s", "facts_over_upload"))
    positive(found, "nc_upload", ("upload_s", "floor_s", "ratio", "facts_ready_s"))
    if CHROMIUM.exists():
        positive(found, "nc_open", ("open_s", "floor_s", "ratio"))
        assert found["nc_open"]["longest_task_ms"] >= 0

    # 9. The other designs under the same client: no double grant in their races either; the framework floor's
    # cycles and CPU beside camvault's; the tutorial design's whole list and many-file upload.
    for design in ("framework", "tutorial"):
        for count in (4, 8):
            assert found[f"{design}_race_{count}"]["double_grants"] == 0
            positive(found, f"{design}_race_{count}", ("round_p50_ms", "round_p99_ms"))
    for count in (4, 8):
        assert found[f"http_race_{count}"]["double_grants"] == 0  # nobody wins a refusal
        positive(found, f"http_race_{count}", ("round_p50_ms", "round_p99_ms"))
    positive(found, "framework_cycles", ("cycles_per_s", "cpu_ms_per_cycle"))
    positive(found, "framework_rss", ("workers_rss_idle_mib",))
    positive(found, "tutorial_rss", ("workers_rss_idle_mib",))
    positive(found, "lock_throughput", ("cpu_ms_per_cycle",))
    assert found["tutorial_list"]["files"] >= 120
    positive(found, "tutorial_list", ("p50_ms", "p99_ms"))
    assert found["tutorial_upload_many"]["files"] == found["upload_many"]["files"]
    positive(found, "tutorial_upload_many", ("p50_ms", "p99_ms"))
    assert "| 9. race, 8 users: a round, against the framework floor / the tutorial design (and a route" in run.stdout

    assert document["nproc"] > 0 and document["python"] and document["date"]
    assert len(document["commit"].split("-")[0]) == 40
    assert "| 1. lock race: 8 users check out one file at once, 2 rounds | **0 double grants**" in run.stdout
    assert document["table"] in run.stdout  # the one table, printed as written
    assert not (tmp_path / "scratch").exists()  # the scratch folder is cleaned up
