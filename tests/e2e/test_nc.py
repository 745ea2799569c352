"""NC programs in the browser: the backplot's pixels, the text view, the NC-aware compare, a 20 MB program parsed
in the Web Worker, and what the parser does not interpret marked on its lines."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from bench.nc_program import program
from tests.db import to_asyncpg_dsn
from tests.e2e.conftest import OpenSession, Stack, row, run_async
from tests.e2e.pixels import decode_png, hex_rgb, near, tinted

pytestmark = pytest.mark.heavy

CORPUS = Path(__file__).resolve().parents[1] / "nc" / "corpus"
TOOL_1 = hex_rgb("#1f77b4")  # the first tool's colour (app/static/js/nc/colours.js)
TOOL_2 = hex_rgb("#2ca02c")  # the second's
WHITE = (255, 255, 255)
MARGIN = 24  # px the drawing keeps from the canvas edge (render.js)
DASH = "\N{EN DASH}"  # between the ends of a range
PARSER_MODULES = ("/js/nc/interpret.js", "/js/nc/lexer.js", "/js/nc/facts.js", "/js/nc/geometry.js")


def check_in(stack: Stack, file_id: int, content: bytes, name: str, username: str = "alice") -> None:
    api = stack.api(username)
    assert api.post(f"/api/files/{file_id}/checkout", json={"message": "edit"}).status_code == 200
    r = api.post(f"/api/files/{file_id}/checkin", data={"message": "new feed"}, files={"file": (name, content)})
    assert r.status_code == 200, r.text


def open_program(page: Page, base: str, file_id: int, timeout: float = 15_000) -> None:
    page.goto(f"{base}/#/file/{file_id}/program")
    expect(page.locator("canvas.nc-canvas")).to_have_attribute("data-state", "drawn", timeout=timeout)


def test_a_square_pocket_draws_a_square_of_its_size_in_its_tool_colour(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("jobs/pocket_square.nc", (CORPUS / "pocket_square.nc").read_bytes())
    page = open_session(stack.a, "alice").page
    open_program(page, stack.a.url, file["id"])
    canvas = page.locator("canvas.nc-canvas")
    expect(canvas).to_have_attribute("data-view", "top")
    width, height = canvas.evaluate("(c) => { const b = c.getBoundingClientRect(); return [b.width, b.height]; }")
    # The fit, computed here from the canvas size: the 40 x 40 mm square fills the smaller side less the margins.
    scale = min((round(width) - 2 * MARGIN) / 40, (round(height) - 2 * MARGIN) / 40)
    assert abs(float(canvas.get_attribute("data-scale") or 0) - scale) < 1e-6
    # The element's screenshot starts on whole pixels; the canvas may sit up to a pixel off them, which the checks
    # below allow for (a 3 x 3 neighbourhood on the lines, 6 px clear of them outside).
    image = decode_png(canvas.screenshot())
    assert abs(image.width - width) <= 2 and abs(image.height - height) <= 2
    cx, cy = round(width) / 2, round(height) / 2
    half = 20 * scale
    left, right, top, bottom = round(cx - half), round(cx + half), round(cy - half), round(cy + half)

    def tool_coloured(x: float, y: float) -> bool:
        return any(near(image.pixel(round(x) + dx, round(y) + dy), TOOL_1) for dx in (-1, 0, 1) for dy in (-1, 0, 1))

    # Each side is there, in the tool's colour, along its whole length...
    for t in (0.1, 0.3, 0.5, 0.7, 0.9):
        assert tool_coloured(left + t * (right - left), top), ("top side", t)
        assert tool_coloured(left + t * (right - left), bottom), ("bottom side", t)
        assert tool_coloured(left, top + t * (bottom - top)), ("left side", t)
        assert tool_coloured(right, top + t * (bottom - top)), ("right side", t)
    # ...and nothing is drawn just outside it or inside it: the square has exactly that size.
    for x, y in ((left - 6, cy), (right + 6, cy), (cx, top - 6), (cx, bottom + 6), (cx, cy), (cx - half / 2, cy)):
        assert image.pixel(round(x), round(y)) == WHITE, (x, y, image.pixel(round(x), round(y)))
    # Measured along the middle row: the coloured span is 40 mm wide at that scale (to 2 px).
    row = [x for x in range(image.width) if near(image.pixel(x, round(cy)), TOOL_1)]
    assert abs((row[-1] - row[0]) - 40 * scale) <= 2 + 2  # the 2 px line's own width


# A 40 mm square whose sides are, in turn: a rapid of T1, a feed of T1, a rapid of T2, a feed of T2.
STYLES = b"""G21 G90 G17 G94
T1 M6
G0 X0 Y0 Z5
G0 X40 Y0
G1 Z-1 F100
G1 Y40
G0 Z5
T2 M6
G0 X0
G1 Z-1
G1 Y0
M30
"""


def test_rapids_are_dashed_feeds_solid_and_each_tool_has_its_colour(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("jobs/styles.nc", STYLES)
    page = open_session(stack.a, "alice").page
    open_program(page, stack.a.url, file["id"])
    canvas = page.locator("canvas.nc-canvas")
    width, height = canvas.evaluate("(c) => { const b = c.getBoundingClientRect(); return [b.width, b.height]; }")
    scale = min((round(width) - 2 * MARGIN) / 40, (round(height) - 2 * MARGIN) / 40)
    image = decode_png(canvas.screenshot())
    cx, cy, half = round(width) / 2, round(height) / 2, 20 * scale

    def coverage(colour: tuple[int, int, int], start: tuple[float, float], end: tuple[float, float]) -> float:
        """The share of points along a side (its middle 80 %) drawn in `colour`."""
        points = [
            (start[0] + t / 100 * (end[0] - start[0]), start[1] + t / 100 * (end[1] - start[1])) for t in range(10, 91)
        ]
        hits = [
            any(tinted(image.pixel(round(x) + d, round(y) + e), colour) for d in (-1, 0, 1) for e in (-1, 0, 1))
            for x, y in points
        ]
        return sum(hits) / len(hits)

    bottom = ((cx - half, cy + half), (cx + half, cy + half))
    right = ((cx + half, cy + half), (cx + half, cy - half))
    top = ((cx + half, cy - half), (cx - half, cy - half))
    left = ((cx - half, cy - half), (cx - half, cy + half))
    assert 0.3 < coverage(TOOL_1, *bottom) < 0.9  # T1's rapid: dashed
    assert coverage(TOOL_1, *right) > 0.97  # T1's feed: solid
    assert 0.3 < coverage(TOOL_2, *top) < 0.9  # T2's rapid, in T2's colour
    assert coverage(TOOL_2, *left) > 0.97
    assert coverage(TOOL_2, *right) < 0.05 and coverage(TOOL_1, *left) < 0.05
    legend = page.locator(".nc-legend li")
    expect(legend).to_have_text(["T1", "T2"])


def test_text_view_colours_searches_jumps_and_links_lines_to_moves(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("jobs/pocket_square.nc", (CORPUS / "pocket_square.nc").read_bytes())
    stack.release(file["id"])  # the shop floor (a viewer) reads released programs
    page = open_session(stack.b, "vera").page
    open_program(page, stack.b.url, file["id"])
    rows = page.locator(".nc-text .nc-row")
    expect(rows.nth(0)).to_contain_text("%")
    expect(page.locator(".nc-row[data-line='5'] .t-tool")).to_have_text("T1")
    expect(page.locator(".nc-row[data-line='5'] .t-m")).to_have_text("M6")
    expect(page.locator(".nc-row[data-line='5'] .t-comment")).to_have_text("(10MM FLAT ENDMILL)")
    expect(page.locator(".nc-row[data-line='10'] .t-feed")).to_have_text("F1200.")
    expect(page.locator(".nc-row[data-line='2'] .t-prog")).to_have_text("O1001")
    # Search: every line with F, the first one selected.
    page.get_by_label("Search the program").fill("f1200")
    page.get_by_label("Search the program").press("Enter")
    expect(page.locator(".nc-count")).to_have_text("1 of 1 lines")
    expect(page.locator(".nc-row.selected")).to_have_attribute("data-line", "10")
    expect(page.locator(".nc-row.selected mark")).to_have_text("F1200")
    # The selected line's move is described and highlighted on the plot.
    expect(page.locator(".nc-move")).to_have_text("Line 10: Feed with T1 from X0 Y0 Z-2 to X40 Y0 Z-2")
    # Jump to a line.
    page.get_by_label("Go to line").fill("12")
    page.get_by_label("Go to line").press("Enter")
    expect(page.locator(".nc-row.selected")).to_have_attribute("data-line", "12")
    expect(page.locator(".nc-move")).to_have_text("Line 12: Feed with T1 from X40 Y40 Z-2 to X0 Y40 Z-2")
    # Click a move on the plot: its line is selected. The right side (X40, from Y0 to Y40) is line 11.
    canvas = page.locator("canvas.nc-canvas")
    box = canvas.bounding_box()
    assert box is not None
    scale = float(canvas.get_attribute("data-scale") or 0)
    canvas.click(position={"x": box["width"] / 2 + 20 * scale, "y": box["height"] / 2})
    expect(page.locator(".nc-row.selected")).to_have_attribute("data-line", "11")
    expect(page.locator(".nc-move")).to_contain_text("Line 11: Feed with T1 from X40 Y0 Z-2 to X40 Y40 Z-2")
    # The facts under the plot.
    facts = page.locator(".nc-facts")
    expect(facts.locator(".nc-cycle-time")).to_have_text("9.5 s")
    expect(facts.locator("tr[data-tool='1']")).to_contain_text("10MM FLAT ENDMILL")
    expect(facts.locator("tr[data-tool='1']")).to_contain_text(f"300{DASH}1,200 mm/min")


def test_views_play_and_what_is_not_interpreted(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("jobs/subprograms_macros.nc", (CORPUS / "subprograms_macros.nc").read_bytes())
    page = open_session(stack.a, "alice").page
    open_program(page, stack.a.url, file["id"])
    # Lines the parser did not run are marked on the line, with why.
    for line in (6, 7, 9, 10, 11, 12, 13, 14, 15, 17):
        expect(page.locator(f".nc-row[data-line='{line}']")).to_have_class("nc-row flagged")
    expect(page.locator(".nc-row[data-line='9']")).to_have_attribute(
        "title", "Subprogram call: subprogram M98: not followed"
    )
    expect(page.locator(".nc-row[data-line='21']")).to_have_class("nc-row after-end")
    summary = page.locator(".nc-issues.uninterpreted li")
    expect(summary).to_have_count(4)
    expect(summary.filter(has_text="Macro")).to_contain_text("(3 lines): macro statement IF")
    summary.filter(has_text="Variable").get_by_role("button", name="13").click()
    expect(page.locator(".nc-row.selected")).to_have_attribute("data-line", "13")
    # Other views redraw; the slider plays the program back.
    canvas = page.locator("canvas.nc-canvas")
    for name, view in (("Front (XZ)", "front"), ("Side (YZ)", "side"), ("3D", "iso"), ("Top (XY)", "top")):
        page.get_by_role("button", name=name).click()
        expect(canvas).to_have_attribute("data-view", view)
    # Wheel zooms in at the pointer, a drag pans the flat views and turns the 3D one.
    box = canvas.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    scale = float(canvas.get_attribute("data-scale") or 0)
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -400)
    expect(canvas).not_to_have_attribute("data-scale", str(scale))
    assert float(canvas.get_attribute("data-scale") or 0) > scale
    ox = float(canvas.get_attribute("data-ox") or 0)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 20, steps=6)
    page.mouse.up()
    # Frames may show part of the drag first (the worker draws the latest state when it can): wait for all of it.
    page.wait_for_function(
        "([c, ox]) => Math.abs(Number(c.dataset.ox) - ox - 60) < 1e-6", arg=[canvas.element_handle(), ox], timeout=5000
    )
    page.get_by_role("button", name="3D").click()
    turn = canvas.get_attribute("data-turn")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 40, cy - 30, steps=5)
    page.mouse.up()
    expect(canvas).not_to_have_attribute("data-turn", turn or "")
    expect(canvas).to_have_attribute("data-view", "iso")
    # The slider draws the program up to a move.
    frame = int(canvas.get_attribute("data-frame") or 0)
    page.get_by_label("Play the program: moves drawn").fill("1")
    expect(canvas).not_to_have_attribute("data-frame", str(frame))


async def forget_facts(database_url: str) -> None:
    """Versions as if made before the server stored program facts (and not reindexed since)."""
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        await conn.execute("DELETE FROM version_facts")
    finally:
        await conn.close()


@pytest.mark.parametrize("facts", ["server", "browser"])
def test_compare_of_a_feed_change_shows_exactly_that_change(
    stack: Stack, open_session: OpenSession, facts: str
) -> None:
    """The summary comes from the facts the server stored with each version, or, for versions without them, from
    the worker's own parse: the same rows either way."""
    v1 = (CORPUS / "pocket_square.nc").read_bytes()
    v2 = v1.replace(b"N70 X40. F1200.", b"N70 X40. F1500.")
    assert v2 != v1
    file = stack.upload("jobs/pocket.nc", v1)
    check_in(stack, file["id"], v2, "pocket.nc")
    history = stack.api("bob").get(f"/api/files/{file['id']}/versions").json()["items"]
    assert all(v["facts"] is not None for v in history)
    if facts == "browser":
        run_async(forget_facts(stack.database_url))
    page = open_session(stack.a, "bob").page
    page.goto(f"{stack.a.url}/#/file/{file['id']}")
    page.locator("table.history tbody tr").nth(0).get_by_role("link", name="Compare with previous").click()
    expect(page).to_have_url(f"{stack.a.url}/#/file/{file['id']}/compare/1/2")
    changes = page.locator("table.nc-changes tbody tr")
    expect(changes).to_have_count(2)
    # The feed of T1 along the pocket sides, and the cycle time that follows from it (160 mm at F1200 -> F1500).
    expect(changes.nth(0)).to_have_text(f"T1 feed300{DASH}1,200 mm/min300{DASH}1,500 mm/min")
    expect(changes.nth(1)).to_have_text("Estimated cycle time9.5 s7.9 s")
    expect(page.locator("section.nc-summary")).to_have_attribute("data-facts", facts)
    # The text: one changed line, and in it only the F word.
    expect(page.locator(".nc-diff-row.changed")).to_have_count(1)
    changed = page.locator(".nc-diff-row.changed")
    expect(changed.locator(".left mark")).to_have_text("F1200.")
    expect(changed.locator(".right mark")).to_have_text("F1500.")
    expect(page.locator(".nc-diff-row.deleted, .nc-diff-row.inserted")).to_have_count(0)
    expect(page.locator("canvas.nc-canvas")).to_have_attribute("data-state", "drawn")


def test_a_20_mb_program_opens_and_draws_parsed_in_the_worker(stack: Stack, open_session: OpenSession) -> None:
    data = program(20 * 1000 * 1000)
    lines = data.count(b"\n")
    assert lines > 1_000_000
    file = stack.upload("jobs/surfacing.nc", data)
    page = open_session(stack.a, "alice").page
    # Every script the page's main thread compiles, from the page's own DevTools session (a worker is a target of
    # its own: its scripts are not reported here). Resource timing cannot tell: Chromium lists a module worker's
    # imports among the page's resources.
    compiled: list[str] = []
    devtools = page.context.new_cdp_session(page)
    devtools.on("Debugger.scriptParsed", lambda event: compiled.append(event["url"]))
    devtools.send("Debugger.enable")
    page.reload()
    open_program(page, stack.a.url, file["id"], timeout=120_000)
    canvas = page.locator("canvas.nc-canvas")
    # Structurally, not by timing: the parse ran in a worker scope, and the main thread never compiled a module of
    # the parser (it compiled the viewer's).
    assert canvas.get_attribute("data-parsed-in") == "DedicatedWorkerGlobalScope"
    paths = {url.removeprefix(stack.a.url) for url in compiled}
    assert {"/js/main.js", "/js/nc/viewer.js", "/js/nc/plotview.js", "/js/nc/textview.js"} <= paths
    assert not set(PARSER_MODULES) & paths
    assert "/js/nc/worker.js" not in paths
    assert [w for w in page.workers if w.url.endswith("/js/nc/worker.js")]
    assert int(canvas.get_attribute("data-moves") or 0) > 1_000_000
    image = decode_png(canvas.screenshot())
    drawn = sum(1 for y in range(0, image.height, 4) for x in range(0, image.width, 4) if image.pixel(x, y) != WHITE)
    assert drawn > 100
    # A million lines, and only the rows on screen exist; the last one is a jump away.
    expect(page.locator(".nc-text .nc-row").first).to_be_visible()
    assert page.locator(".nc-text .nc-row").count() < 200
    page.get_by_label("Go to line").fill(str(lines))
    page.get_by_label("Go to line").press("Enter")
    expect(page.locator(f".nc-row[data-line='{lines}']")).to_have_text(f"{lines}%")
    assert page.locator(".nc-text .nc-row").count() < 200
    expect(page.locator(".nc-facts .nc-cycle-time")).not_to_be_empty()
    # Its page offers the Program tab although it is over the 4 MiB of text the server diffs: its stored facts
    # say it is a program.
    page.goto(f"{stack.a.url}/#/file/{file['id']}")
    expect(page.locator("nav.tabs").get_by_role("link", name="Program", exact=True)).to_be_visible()


def test_text_files_get_a_text_view_and_binary_files_none(stack: Stack, open_session: OpenSession) -> None:
    # A byte-order mark and characters of several bytes: lines are found in bytes and decoded when shown.
    second = "Ø 12 Schrägbohrung \N{EN DASH} 3\N{MULTIPLICATION SIGN}"
    text = f"\ufeffsetup: vise jaws 100 mm\r\n{second}\r\nG0 is not a move here\r\n"
    notes = stack.upload("jobs/notes.txt", text.encode())
    image = stack.upload("jobs/photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    page = open_session(stack.a, "alice").page
    page.goto(f"{stack.a.url}/#/file/{notes['id']}")
    page.get_by_role("link", name="Text").click()
    expect(page.locator(".nc-row .nc-code")).to_have_text(["setup: vise jaws 100 mm", second, "G0 is not a move here"])
    page.get_by_label("Search the program").fill("SCHRÄG")
    page.get_by_label("Search the program").press("Enter")
    expect(page.locator(".nc-row.selected")).to_have_attribute("data-line", "2")
    expect(page.locator(".nc-row.selected mark")).to_have_text("Schräg")
    page.get_by_label("Search the program").fill("move")
    page.get_by_label("Search the program").press("Enter")
    expect(page.locator(".nc-row.selected")).to_have_attribute("data-line", "3")
    expect(page.locator("canvas.nc-canvas")).to_have_count(0)
    expect(page.get_by_role("link", name="Compare")).to_have_count(0)
    page.goto(f"{stack.a.url}/#/file/{image['id']}/program")
    expect(page.get_by_text("Version 1 is not a text file")).to_be_visible()


def test_the_file_list_shows_program_facts_columns_on_request(stack: Stack, open_session: OpenSession) -> None:
    pocket = (CORPUS / "pocket_square.nc").read_bytes()
    file = stack.upload("jobs/pocket.nc", pocket)
    stack.upload("jobs/notes.txt", b"G0 X1\n")
    page = open_session(stack.a, "alice").page
    page.goto(f"{stack.a.url}/#/files?folder=jobs")
    expect(row(page, "jobs/pocket.nc")).to_be_visible()
    headers = page.locator("table.files thead th")
    expect(headers.filter(has_text="Cycle time")).to_have_count(0)
    page.get_by_label("Program facts").check()
    expect(headers.filter(has_text="Cycle time")).to_have_count(1)
    cells = row(page, "jobs/pocket.nc").locator("td.nc-facts-col")
    expect(cells).to_have_text(["1", "9.5 s", "-2 mm"])  # one tool, 9.5 s as in the compare, the pocket 2 mm deep
    expect(row(page, "jobs/notes.txt").locator("td.nc-facts-col")).to_have_text(["", "", ""])
    # A check-in elsewhere re-reads the row live: its new facts show (the feed change makes the cycle shorter).
    check_in(stack, file["id"], pocket.replace(b"N70 X40. F1200.", b"N70 X40. F1500."), "pocket.nc", "bob")
    expect(cells).to_have_text(["1", "7.9 s", "-2 mm"])
