"""Benchmark 7: NC programs. The server's program facts of a 20 MB program against writing the same bytes to disk
(and against uploading them to camvault), the upload that computes them against the same upload of a file that is
not a program, and opening the program in headless Chromium: from the click on the
Program tab to the backplot drawn, with the longest main-thread task meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from app.api.static import SECURITY_HEADERS
from app.nc import program_facts
from bench.measure import speed_ratio
from bench.nc_program import program
from bench.session import Bench
from bench.transfer import disk_write_seconds, upload_seconds
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

STATIC = Path(__file__).resolve().parents[1] / "app" / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}
TARGET_OPEN_S = 3.0  # the targets for a 20 MB program, on this machine
TARGET_LONGEST_TASK_MS = 200.0

# Runs in the page before its own scripts (Playwright's init script): the token of a logged-in session, the
# main thread's long tasks (over 50 ms, the browser's definition) and when the Program tab was clicked.
PAGE_PROBE = """
localStorage.setItem("camvault.token", %s);  // where the UI keeps it since issue 18
window.__ncBench = { tasks: [], click: null };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__ncBench.tasks.push([e.startTime, e.duration]);
}).observe({ type: "longtask", buffered: true });
addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("a[href$='/program']")) window.__ncBench.click = event.timeStamp;
}, true);
"""

READ_TIMES = """() => {
  const drawn = performance.getEntriesByName("nc:drawn")[0].startTime;
  const click = window.__ncBench.click;
  const during = window.__ncBench.tasks.filter(([start, length]) => start + length >= click && start <= drawn);
  return { click, drawn, longest: Math.max(0, ...during.map(([, length]) => length)), tasks: during.length };
}"""

FETCH_FLOOR = """async (url) => {
  const started = performance.now();
  const token = localStorage.getItem("camvault.token");
  const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return performance.now() - started;
}"""


def fresh_copy(path: Path, target: Path, tag: str) -> Path:
    """The program with a comment line of its own at the end: a new blob, so no upload reuses another's object."""
    with path.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
        out.write(f"({tag})\n".encode())
    return target


async def facts_result(bench: Bench, path: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The facts alone against a disk write, and the upload that computes them against the same upload of a file that
    is not an NC program (`.txt`: no facts), each upload of bytes the vault has not seen."""
    size = path.stat().st_size
    facts_s, writes, uploads, plain_uploads, ready = [], [], [], [], []
    file_id = 0
    facts = None
    for run in range(bench.config.nc_runs):
        started = time.perf_counter()
        facts = await asyncio.to_thread(program_facts, path)  # off the loop, as the server runs it
        facts_s.append(time.perf_counter() - started)
        assert facts is not None
        writes.append(disk_write_seconds(path, path.with_name("copy.nc")))
        plain = fresh_copy(path, path.with_name(f"plain-{run}.txt"), f"plain {run}")
        seconds, plain_id = await upload_seconds(bench, plain, plain.name)
        plain_uploads.append(seconds)
        program_copy = fresh_copy(path, path.with_name(f"surfacing-{run}.nc"), f"program {run}")
        seconds, file_id = await upload_seconds(bench, program_copy, program_copy.name)
        uploads.append(seconds)
        # Over NC_FACTS_INLINE_BYTES the upload answers first and the facts follow: from the upload's start to the
        # facts stored.
        started = time.perf_counter() - seconds
        while (await bench.http.get(f"/api/files/{file_id}", headers=bench.headers)).json()["facts"] is None:
            if time.perf_counter() - started > 600:
                raise RuntimeError("the NC upload's facts were not stored within 10 minutes")
            await asyncio.sleep(0.05)
        ready.append(time.perf_counter() - started)
        stored = [
            (await bench.http.get(f"/api/files/{i}", headers=bench.headers)).json()["facts"]
            for i in (plain_id, file_id)
        ]
        if stored[0] is not None or stored[1] is None or stored[1]["lines"] != facts.lines + 1:
            raise RuntimeError("the NC upload stored no facts, or the .txt upload stored some")
        plain.unlink()
        program_copy.unlink()
    assert facts is not None
    facts_p50, write_p50 = statistics.median(facts_s), statistics.median(writes)
    upload_p50, plain_p50 = statistics.median(uploads), statistics.median(plain_uploads)
    facts_row = {
        "bytes": size,
        "lines": facts.lines,
        "moves": facts.rapid_moves + facts.feed_moves,
        "facts_s": round(facts_p50, 3),
        "floor_s": round(write_p50, 3),
        "ratio": speed_ratio(write_p50, facts_p50),
        "upload_s": round(plain_p50, 3),
        "facts_over_upload": round(facts_p50 / plain_p50, 3),
        "runs": len(facts_s),
        "floor": "disk write + fsync of the same bytes",
    }
    upload_row = {
        "bytes": size,
        "upload_s": round(upload_p50, 3),
        "floor_s": round(plain_p50, 3),
        "ratio": speed_ratio(plain_p50, upload_p50),
        "facts_ready_s": round(statistics.median(ready), 3),
        "runs": len(uploads),
        "floor": "the same upload as a .txt file (no facts)",
    }
    return facts_row, upload_row, file_id


async def serve_ui(route: Any) -> None:
    """The UI's files, as Nginx serves them in production (the benchmark's Gunicorn serves the API only)."""
    path = route.request.url.split("//", 1)[1].split("/", 1)[1].split("?")[0].split("#")[0]
    if path.startswith(("api/", "ws")):
        await route.continue_()
        return
    file = STATIC / (path or "index.html")
    if not file.is_file():
        file = STATIC / "index.html"
    headers = {**SECURITY_HEADERS, "Content-Type": TYPES.get(file.suffix, "application/octet-stream")}
    await route.fulfill(status=200, headers=headers, body=file.read_bytes())


async def open_result(bench: Bench, file_id: int) -> dict[str, Any] | None:
    if not CHROMIUM.exists():
        return None
    from playwright.async_api import async_playwright

    token = bench.headers["Authorization"].removeprefix("Bearer ")
    opens, longest, fetches = [], [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(bench.config.nc_runs):
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                await context.add_init_script(script=PAGE_PROBE % json.dumps(token))
                await context.route(f"{bench.server.url}/**", serve_ui)
                page = await context.new_page()
                await page.goto(f"{bench.server.url}/#/file/{file_id}")
                tab = page.get_by_role("link", name="Program", exact=True)
                await tab.wait_for()
                await tab.click()
                await page.wait_for_selector("canvas.nc-canvas[data-state='drawn']", timeout=180_000)
                times = await page.evaluate(READ_TIMES)
                opens.append((times["drawn"] - times["click"]) / 1000)
                longest.append(times["longest"])
                fetches.append(await page.evaluate(FETCH_FLOOR, f"/api/files/{file_id}/content") / 1000)
                await context.close()
        finally:
            await browser.close()
    open_p50 = statistics.median(opens)
    fetch_p50 = statistics.median(fetches)
    return {
        "open_s": round(open_p50, 3),
        "longest_task_ms": round(max(longest), 1),
        "floor_s": round(fetch_p50, 3),
        "ratio": speed_ratio(fetch_p50, open_p50),
        "target_open_s": TARGET_OPEN_S,
        "target_longest_task_ms": TARGET_LONGEST_TASK_MS,
        "runs": len(opens),
        "chromium": os.fspath(CHROMIUM),
        "floor": "the page fetching the same bytes",
    }


async def run(bench: Bench) -> tuple[dict[str, dict[str, Any]], list[str]]:
    folder = bench.config.tmp / "nc"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "surfacing.nc"
    path.write_bytes(program(bench.config.nc_bytes))
    facts, upload, file_id = await facts_result(bench, path)
    results: dict[str, dict[str, Any]] = {"nc_facts": facts, "nc_upload": upload}
    opened = await open_result(bench, file_id)
    notes = []
    if opened is None:
        notes.append(f"nc: no browser figures, {CHROMIUM} is not installed (apt-get install chromium)")
    else:
        results["nc_open"] = opened
    return results, notes
