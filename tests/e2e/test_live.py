"""Staying live: reconnecting after a worker dies, rows refreshed in place, a long list paged, sorted and searched."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import OpenSession, Stack, row


def test_the_page_reconnects_after_its_worker_dies_and_catches_up(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("op40.nc", b"G0\n")
    bob = open_session(stack.b, "bob").page
    expect(row(bob, "op40.nc").locator(".status")).to_have_text("Available")
    bob.evaluate("window.__sameDocument = true")

    stack.b.kill()  # bob's worker dies (kill -9)
    expect(bob.locator("#connection")).to_have_text("Reconnecting…")
    # Meanwhile alice checks the file out on the other worker: bob's socket is down and misses it.
    r = stack.api("alice").post(f"/api/files/{file['id']}/checkout", json={"message": "while you were away"})
    assert r.status_code == 200
    stack.b.start()

    # Backoff brings the socket back (1 s, 2 s, 4 s ...), and the list reloads what it missed.
    expect(bob.locator("#connection")).to_have_text("Live", timeout=20_000)
    expect(row(bob, "op40.nc").locator(".status")).to_have_text("Checked out by alice")
    assert bob.evaluate("window.__sameDocument") is True
    # And it is live again: the next event arrives as it happens.
    assert stack.api("alice").post(f"/api/files/{file['id']}/release").status_code == 200
    expect(row(bob, "op40.nc").locator(".status")).to_have_text("Available", timeout=2_000)


def test_a_live_refresh_keeps_the_parts_of_a_row_that_did_not_change(stack: Stack, open_session: OpenSession) -> None:
    # A row swapped whole while someone clicks its link loses the click (mousedown on the old link, mouseup on
    # the new one): live refreshes change only the cells that differ; the buttons, whose handlers hold the old
    # file, are always drawn again.
    file = stack.upload("keep/op50.nc", b"G0\n")
    page = open_session(stack.a, "alice").page
    page.goto(f"{stack.a.url}/#/files?folder=keep")
    line = row(page, "keep/op50.nc")
    expect(line.locator(".status")).to_have_text("Available")
    parts = "tr => [tr, tr.querySelector('a'), tr.querySelector('.actions-cell button')]"
    line.evaluate(f"tr => {{ window.__parts = ({parts})(tr); }}")

    r = stack.api("bob").post(f"/api/files/{file['id']}/checkout", json={"message": "fixture change"})
    assert r.status_code == 200
    expect(line.locator(".status")).to_have_text("Checked out by bob")
    assert line.evaluate(f"tr => ({parts})(tr).map((now, i) => now === window.__parts[i])") == [True, True, False]
    assert line.get_attribute("class") and "locked" in line.get_attribute("class").split()

    line.get_by_role("link", name="op50.nc").click()
    expect(page.locator("h1.path")).to_have_text("keep/op50.nc")


def test_a_long_folder_is_paged_sorted_and_searched(stack: Stack, open_session: OpenSession) -> None:
    files = [("files", (f"part-{i:03}.nc", b"G0\n" * (i + 1))) for i in range(120)]
    r = stack.api("alice").post("/api/files", data={"folder": "big"}, files=files)
    assert r.status_code == 201, r.text
    page = open_session(stack.a, "alice").page
    page.get_by_role("link", name="big", exact=True).click()
    rows = page.locator("table.files tbody tr")
    summary = page.locator("#files-summary")
    expect(summary).to_have_text("Showing 50 of 120 files in this folder.")
    expect(rows).to_have_count(50)
    expect(rows.first.locator(".name")).to_have_text("part-000.nc")

    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(rows).to_have_count(100)
    more.click()
    expect(rows).to_have_count(120)
    expect(more).to_be_hidden()
    names = [n.strip() for n in rows.locator(".name").all_inner_texts()]
    assert names == [f"part-{i:03}.nc" for i in range(120)]

    page.get_by_role("button", name="Size").click()  # smallest first
    expect(rows.first.locator(".name")).to_have_text("part-000.nc")
    page.get_by_role("button", name="Size").click()  # then biggest first
    expect(rows.first.locator(".name")).to_have_text("part-119.nc")
    expect(page.locator("th[aria-sort=descending]")).to_have_text("Size ▼")

    page.get_by_label("Search").fill("part-07")
    expect(summary).to_have_text("Showing 10 of 10 matches for “part-07”.")
    expect(rows.first.locator(".name")).to_have_text("big/part-079.nc")  # found below: the full path
