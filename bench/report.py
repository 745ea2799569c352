"""The results as one markdown table for people and as bench/results.json for tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if abs(value) < 1000 else f"{value / 1000:.2f} s"


def _p(r: dict[str, Any], prefix: str = "http_") -> str:
    return f"{_ms(r[prefix + 'p50_ms'])} p50, {_ms(r[prefix + 'p99_ms'])} p99"


def _n(value: int) -> str:
    return f"{value:,}"


def rows(results: dict[str, Any], config: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = []
    races = sorted((k for k in results if k.startswith("lock_race_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    for race in [results[k] for k in races] or ([results["lock_race"]] if "lock_race" in results else []):
        out.append(
            [
                f"1. lock race: {race['racers']} users check out one file at once, {race['rounds']} rounds",
                f"**{race['double_grants']} double grants** (audit rows and lock row "
                f"{'agree' if race['audit_agrees'] else 'DISAGREE'}); {_p(race, 'round_')} a round",
                f"{race['floor_double_grants']} double grants; {_p(race, 'floor_round_')}: the deciding upsert "
                "from every racer on bare asyncpg",
                f"{race['ratio']:.2f}",
            ]
        )
    if locks := results.get("lock_throughput"):
        out.append(
            [
                f"2. check-out + check-in cycles, {locks['clients']} clients on distinct files",
                f"{locks['cycles_per_s']:.0f} cycles/s; {locks.get('round_trips_per_cycle', '?')} round trips a cycle",
                f"{locks['floor_cycles_per_s']:.0f} cycles/s: the cycle's {locks['statements']} statements "
                "on bare asyncpg",
                f"{locks['ratio']:.2f}",
            ]
        )
    if up := results.get("upload"):
        out.append(
            [
                f"3. upload {up['bytes'] // 1024**2} MiB (`POST /api/files`)",
                f"{up['app_mb_s']:.0f} MB/s; peak RSS {up['peak_worker_rss_mib']:.0f} MiB a worker, "
                f"{up['peak_workers_rss_mib']:.0f} MiB both (idle {up['workers_rss_idle_mib']:.0f})",
                f"{up['floor_mb_s']:.0f} MB/s: disk write + fsync",
                f"{up['ratio']:.2f}",
            ]
        )
    for key, label in (("download_latest", "latest version"), ("download_old", "version 1 of 2")):
        if d := results.get(key):
            floor = f"{d['floor_mb_s']:.0f} MB/s disk read"
            ratio = f"{d['ratio']:.2f}"
            if "nginx_mb_s" in d:
                floor += f"; {d['nginx_mb_s']:.0f} MB/s nginx {d['nginx']}"
                ratio += f" / {d['nginx_ratio']:.2f}"
            out.append([f"4. download {d['bytes'] // 1024**2} MiB, {label}", f"{d['app_mb_s']:.0f} MB/s", floor, ratio])
    for name, label in (
        ("list_first_page", "first page of the listing"),
        ("list_search", "search"),
        ("list_card_filter", "card filter"),
    ):
        for size in config["scales"]:
            if r := results.get(f"{name}_{size}"):
                what = "50 rows"
                if name == "list_search":
                    what = f"`q={config['search']}`, {_n(r['matches'])} matches"
                elif name == "list_card_filter":
                    what = f"`card=part_number:eq:P00007`, {_n(r['matches'])} matches"
                out.append(
                    [
                        f"5. {label}, {_n(r['files'])} files ({what})",
                        _p(r),
                        f"{_p(r, 'floor_')}: its SELECT; all {r['statements']} statements "
                        f"{_ms(r['request_sql_p50_ms'])}",
                        f"{r['ratio']:.2f}",
                    ]
                )
    for size in config["scales"]:
        if r := results.get(f"upload_small_{size}"):
            out.append(
                [
                    f"5. upload a small new file into a vault of {_n(r['files'])} files",
                    _p(r),
                    f"{_p(r, 'floor_')}: disk write + fsync",
                    f"{r['ratio']:.2f}",
                ]
            )
    for key, label in (("history_page", "history page"), ("history_page_one_version", "history page")):
        if r := results.get(key):
            out.append(
                [
                    f"5. {label}, a file of {_n(r['versions'])} version{'s' if r['versions'] > 1 else ''}",
                    _p(r),
                    f"{_p(r, 'floor_')}: its SELECT",
                    f"{r['ratio']:.2f}",
                ]
            )
    if d := results.get("download_version_1"):
        out.append(
            [
                f"5. download version 1 of {_n(d['versions'])} ({_n(d['bytes'])} bytes)",
                f"{_p(d)} (latest: {_ms(d['latest_p50_ms'])} p50)",
                f"{_p(d, 'floor_')}: `git cat-file blob`",
                f"{d['ratio']:.2f}",
            ]
        )
    if e := results.get("export"):
        out.append(
            [
                f"8. the whole listing, {_n(e['files'])} files: `GET /api/files/export` (NDJSON)",
                f"{_p(e)}; walking the pages of 500: {_ms(e['pages_p50_ms'])} p50 "
                f"({e['pages_over_export']:.1f} times the export)",
                f"{_ms(e['floor_p50_ms'])} p50: its SQL ({e['statements']} statements) on bare asyncpg",
                f"{e['ratio']:.2f}",
            ]
        )
    if b := results.get("upload_many"):
        out.append(
            [
                f"8. {b['files']} small files in one `POST /api/files`",
                _p(b),
                f"{_p(b, 'floor_')}: write + fsync of each file",
                f"{b['ratio']:.2f}",
            ]
        )
    if t := results.get("round_trips"):
        out.append(
            [
                "8. database round trips per operation (steady state)",
                ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in t.items() if k != "processes")
                + f"; processes started: {t.get('processes') or 'none'}",
                "-",
                "-",
            ]
        )
    if g := results.get("growth"):
        out.append(
            [
                "5. growth with the vault (p50 ÷ p50; 1.0 = flat)",
                ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in g.items()),
                "-",
                "-",
            ]
        )
    if ws := results.get("ws_fanout"):
        out.append(
            [
                f"6. WebSocket fan-out to {ws['clients']} sockets ({' + '.join(map(str, ws['sockets_per_worker']))} "
                f"on the workers), {ws['rounds']} check-outs",
                f"{_p(ws, '')} after the HTTP response; {_p(ws, 'from_request_')} after the request",
                f"{_p(ws, 'floor_')}: bare NOTIFY sent to LISTEN",
                f"{ws['ratio']:.2f}",
            ]
        )
    if f := results.get("nc_facts"):
        out.append(
            [
                f"7. NC program facts (Python, off the event loop) of a {f['bytes'] / 1e6:.0f} MB program, "
                f"{_n(f['lines'])} lines",
                f"{_ms(f['facts_s'] * 1000)}; uploading the same bytes as `.txt`: {_ms(f['upload_s'] * 1000)} "
                f"(facts ÷ upload {f['facts_over_upload']:.2f})",
                f"{_ms(f['floor_s'] * 1000)}: disk write + fsync",
                f"{f['ratio']:.2f}",
            ]
        )
    if u := results.get("nc_upload"):
        out.append(
            [
                "7. upload that program as `.nc` (answered before its facts; facts stored after the commit)",
                f"{_ms(u['upload_s'] * 1000)}; facts stored {_ms(u['facts_ready_s'] * 1000)} after the upload began"
                if "facts_ready_s" in u
                else _ms(u["upload_s"] * 1000),
                f"{_ms(u['floor_s'] * 1000)}: the same upload as `.txt` (no facts)",
                f"{u['ratio']:.2f}",
            ]
        )
    if o := results.get("nc_open"):
        out.append(
            [
                "7. open that program in headless Chromium: click on Program to backplot drawn",
                f"{_ms(o['open_s'] * 1000)} (target {o['target_open_s']:.0f} s); longest main-thread task "
                f"{o['longest_task_ms']:.0f} ms (target {o['target_longest_task_ms']:.0f} ms)",
                f"{_ms(o['floor_s'] * 1000)}: the page fetching the same bytes",
                f"{o['ratio']:.2f}",
            ]
        )
    out += design_rows(results)
    return out


def design_rows(results: dict[str, Any]) -> list[list[str]]:
    """Benchmark 9: camvault's figure, the other designs' figures, camvault's speed relative to each."""
    out: list[list[str]] = []
    races = sorted((k for k in results if k.startswith("framework_race_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    for key in races:
        count = key.rsplit("_", 1)[1]
        fw, tut, cv = results[key], results.get(f"tutorial_race_{count}"), results.get(f"lock_race_{count}")
        http = results.get(f"http_race_{count}")
        if tut is None or cv is None or http is None:
            continue
        out.append(
            [
                f"9. race, {count} users: a round, against the framework floor / the tutorial design "
                "(and a route that answers 409 without looking)",
                f"{_ms(cv['round_p50_ms'])} p50",
                f"{_ms(fw['round_p50_ms'])} p50 ({fw['double_grants']} double grants) / "
                f"{_ms(tut['round_p50_ms'])} p50 ({tut['double_grants']} double grants); "
                f"409 without looking: {_ms(http['round_p50_ms'])} p50",
                f"{fw['round_p50_ms'] / cv['round_p50_ms']:.2f} / {tut['round_p50_ms'] / cv['round_p50_ms']:.2f}",
            ]
        )
    if (fw := results.get("framework_cycles")) and (cv := results.get("lock_throughput")) and "cpu_ms_per_cycle" in cv:
        cpu = cv["cpu_ms_per_cycle"] / fw["cpu_ms_per_cycle"]
        out.append(
            [
                "9. check-out + check-in cycles, against the framework floor: cycles/s; both workers' CPU a cycle",
                f"{cv['cycles_per_s']:.0f} cycles/s; {cv['cpu_ms_per_cycle']:.1f} ms",
                f"{fw['cycles_per_s']:.0f} cycles/s; {fw['cpu_ms_per_cycle']:.1f} ms",
                f"{cv['cycles_per_s'] / fw['cycles_per_s']:.2f} (CPU {cpu:.1f} times)",
            ]
        )
    if (fw := results.get("framework_rss")) and (tut := results.get("tutorial_rss")) and (cv := results.get("upload")):
        out.append(
            [
                "9. both workers' resident memory, idle, against the framework floor / the tutorial design",
                f"{cv['workers_rss_idle_mib']:.0f} MiB",
                f"{fw['workers_rss_idle_mib']:.0f} MiB / {tut['workers_rss_idle_mib']:.0f} MiB",
                "-",
            ]
        )
    if (tut := results.get("tutorial_list")) and (cv := results.get("export")):
        out.append(
            [
                f"9. every file of the vault ({_n(cv['files'])}; tutorial design {_n(tut['files'])}): "
                "camvault's export against the tutorial design's one list",
                f"{_ms(cv['http_p50_ms'])} p50",
                f"{_ms(tut['p50_ms'])} p50",
                f"{tut['p50_ms'] / cv['http_p50_ms']:.2f}",
            ]
        )
    if (tut := results.get("tutorial_upload_many")) and (cv := results.get("upload_many")):
        out.append(
            [
                f"9. {cv['files']} small files in one upload, against the tutorial design",
                f"{_ms(cv['http_p50_ms'])} p50",
                f"{_ms(tut['p50_ms'])} p50",
                f"{tut['p50_ms'] / cv['http_p50_ms']:.2f}",
            ]
        )
    return out


def table(results: dict[str, Any], config: dict[str, Any]) -> str:
    lines = ["| benchmark | camvault | floor | ratio |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results, config)]
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
