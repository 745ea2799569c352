"""The results as a table for people and as bench/results.json for tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LATENCY_NAMES = {
    "list_first_page": "GET /api/files?limit=50 (first page)",
    "list_cursor_page": "GET /api/files?limit=50&cursor= (middle)",
    "list_search": "GET /api/files?limit=50&q=",
    "lock_cycle": "POST checkout + POST release",
}
THROUGHPUT_NAMES = {"upload": "upload (POST /api/files)", "download": "download (GET .../content)"}


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        # The first column (names) to the left, numbers to the right.
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def table(results: dict[str, dict[str, Any]]) -> str:
    latency = [
        [
            LATENCY_NAMES[name],
            f"{r['http_p50_ms']:.2f}",
            f"{r['http_p95_ms']:.2f}",
            f"{r['floor_p50_ms']:.2f}",
            f"{r['floor_p95_ms']:.2f}",
            f"{r['ratio']:.1f}x",
            f"{r['request_sql_p50_ms']:.2f} ({r['statements']})",
            f"{r['request_sql_ratio']:.1f}x",
        ]
        for name, r in results.items()
        if name in LATENCY_NAMES
    ]
    throughput = []
    for name, r in results.items():
        if name not in THROUGHPUT_NAMES:
            continue
        if "skipped" in r:
            throughput.append([THROUGHPUT_NAMES[name], "-", "skipped: " + r["skipped"], "-", "-"])
        else:
            speeds = [f"{r['app_mb_s']:.1f}", r["floor"], f"{r['floor_mb_s']:.1f}", f"{r['ratio']:.1f}x"]
            throughput.append([THROUGHPUT_NAMES[name], *speeds])
    return (
        _table(
            ["latency, ms", "camvault p50", "p95", "floor p50", "p95", "ratio", "all request SQL p50 (stmts)", "ratio"],
            latency,
        )
        + "\n\n"
        + _table(["throughput, MB/s", "camvault", "floor", "floor MB/s", "ratio"], throughput)
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
