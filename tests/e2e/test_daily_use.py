"""The rough edges a new shop hit, each as a user meets it: sort order and live rows, notices, the keyboard,
the cooldown, check-in warnings, Blame for text only, long paths, dark mode, the audit page."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OpenSession, Stack, audit_rows, row


def names(page: Page) -> list[str]:
    return [n.strip() for n in page.locator("table.files tbody tr .name").all_inner_texts()]


def test_names_sort_naturally_and_live_rows_land_where_the_sort_puts_them(
    stack: Stack, open_session: OpenSession
) -> None:
    api = stack.api("alice")
    files = [("files", (n, b"G0\n")) for n in ["OP10.nc", "op2.nc", "bracket.nc", "OP1.nc", "Op20.nc"]]
    assert api.post("/api/files", data={"folder": "cell"}, files=files).status_code == 201
    page = open_session(stack.a, "bob").page
    page.get_by_role("link", name="cell", exact=True).click()
    expect(page.locator("table.files tbody tr")).to_have_count(5)
    assert names(page) == ["bracket.nc", "OP1.nc", "op2.nc", "OP10.nc", "Op20.nc"]

    # Uploaded elsewhere, shown live, each where the sort puts it: beside its other-case twin (`-` sorts before
    # `.`, as in a plain listing), between the numbers.
    assert api.post("/api/files", data={"folder": "cell"}, files={"files": ("Op3.nc", b"G0\n")}).is_success
    assert api.post("/api/files", data={"folder": "cell"}, files={"files": ("BRACKET-2.nc", b"G0\n")}).is_success
    expect(page.locator("table.files tbody tr")).to_have_count(7, timeout=2_000)
    assert names(page) == ["BRACKET-2.nc", "bracket.nc", "OP1.nc", "op2.nc", "Op3.nc", "OP10.nc", "Op20.nc"]

    # In the other direction too, and a rename moves its row to its new place.
    page.get_by_role("button", name="Name").click()
    expect(page.locator("th[aria-sort=descending]")).to_have_text("Name ▼")
    expect(page.locator("table.files tbody tr").first.locator(".name")).to_have_text("Op20.nc")
    assert api.post("/api/files", data={"folder": "cell"}, files={"files": ("op11.nc", b"G0\n")}).is_success
    expect(page.locator("table.files tbody tr")).to_have_count(8, timeout=2_000)
    assert names(page) == ["Op20.nc", "op11.nc", "OP10.nc", "Op3.nc", "op2.nc", "OP1.nc", "bracket.nc", "BRACKET-2.nc"]
    moved = next(
        f for f in api.get("/api/files", params={"folder": "cell"}).json()["items"] if f["path"] == "cell/OP1.nc"
    )
    assert api.post(f"/api/files/{moved['id']}/move", json={"path": "cell/OP99.nc"}).status_code == 200
    expect(page.locator("table.files tbody tr").first.locator(".name")).to_have_text("OP99.nc", timeout=2_000)


def test_one_notice_per_change_bursts_collapse_and_nothing_covers_a_button(
    stack: Stack, open_session: OpenSession
) -> None:
    file = stack.upload("cells/op30.nc", b"G0\n")
    bob = open_session(stack.b, "bob").page
    expect(bob.locator(".folders")).to_contain_text("cells")
    api = stack.api("alice")
    assert api.post(f"/api/files/{file['id']}/checkout", json={"message": "m"}).status_code == 200
    r = api.post(f"/api/files/{file['id']}/checkin", data={"message": "x"}, files={"file": ("op30.nc", b"G1\n")})
    assert r.status_code == 200
    # A check-in sends two events (the version, the lock): one notice.
    notice = bob.locator(".toast").filter(has_text="alice checked in version 2 of cells/op30.nc")
    expect(notice).to_be_visible(timeout=2_000)
    # Four uploads in a row: one notice that counts them.
    for i in range(4):
        assert api.post("/api/files", data={"folder": "burst"}, files={"files": (f"p{i}.nc", b"G0\n")}).is_success
    expect(bob.locator(".toast").filter(has_text="alice uploaded 4 files")).to_be_visible(timeout=3_000)
    expect(bob.locator(".toast").filter(has_text="alice uploaded")).to_have_count(1)
    expect(bob.locator(".toast").filter(has_text="alice checked in")).to_have_count(1)
    assert bob.locator(".toast").count() <= 3
    # Notices sit in the page's flow: no button on the page is under one.
    overlap = bob.evaluate(
        """() => {
            const boxes = [...document.querySelectorAll('.toast')].map((t) => t.getBoundingClientRect());
            const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            return [...document.querySelectorAll('button, a, input, select')]
                .filter((c) => boxes.some((b) => hit(b, c.getBoundingClientRect())))
                .map((c) => c.textContent);
        }"""
    )
    assert overlap == []
    # They were about the page being left: a navigation clears them.
    bob.get_by_role("link", name="burst", exact=True).click()
    expect(bob.locator(".toast")).to_have_count(0)


def test_dialogs_give_focus_back_close_with_escape_and_slash_searches(stack: Stack, open_session: OpenSession) -> None:
    stack.upload("op11.nc", b"G0\n")
    page = open_session(stack.a, "alice").page
    button = row(page, "op11.nc").get_by_role("button", name="Check out")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    assert button.evaluate("b => b === document.activeElement")

    # After an action re-draws the row, focus goes to the same row's next control, never to the page's body.
    page.keyboard.press("Enter")
    page.keyboard.type("from the keyboard")
    page.locator("dialog").get_by_role("button", name="Check out").click()
    expect(row(page, "op11.nc").locator(".status")).to_have_text("Checked out by you")
    focused = page.evaluate("document.activeElement.closest('tr')?.dataset.path + ' ' + document.activeElement.tagName")
    assert focused == "op11.nc BUTTON"

    # The hidden file input is no tab stop of its own (its label is the control).
    assert page.locator("#upload-input").get_attribute("tabindex") == "-1"
    # `/` goes to the search box, from anywhere but a text field.
    page.locator("main").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("op1")
    assert page.get_by_label("Search").input_value() == "op1"


@pytest.mark.parametrize("stack", [{"edit_cooldown_seconds": 4}], indirect=True)
def test_others_see_the_cooldown_count_down_on_a_disabled_check_out(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("op50.nc", b"G0\n")
    bob = open_session(stack.b, "bob").page
    alice = open_session(stack.a, "alice").page
    api = stack.api("alice")
    assert api.post(f"/api/files/{file['id']}/checkout", json={"message": "m"}).status_code == 200
    r = api.post(f"/api/files/{file['id']}/checkin", files={"file": ("op50.nc", b"G1\n")})
    assert r.status_code == 200
    button = row(bob, "op50.nc").get_by_role("button", name="Check out")
    expect(button).to_be_disabled(timeout=2_000)
    expect(button).to_contain_text("Check out (")
    expect(button).to_contain_text(" s)")
    # Its author is not held back.
    expect(row(alice, "op50.nc").get_by_role("button", name="Check out")).to_be_enabled()
    # When the time is up the button works, without a reload.
    expect(button).to_be_enabled(timeout=8_000)
    expect(button).to_have_text("Check out")
    # While its author holds the file again, no cooldown shows on its page.
    assert api.post(f"/api/files/{file['id']}/checkout", json={"message": "again"}).status_code == 200
    bob.goto(f"{stack.b.url}/#/file/{file['id']}")
    expect(bob.locator(".lock-details")).to_contain_text("alice")
    expect(bob.locator("dl.meta")).not_to_contain_text("Cooldown")


def test_check_in_warns_about_another_name_and_refuses_another_type(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("cells/OP20.nc", b"G0\n")
    assert stack.api("alice").post(f"/api/files/{file['id']}/checkout", json={"message": "m"}).status_code == 200
    page = open_session(stack.a, "alice").page
    page.goto(f"{stack.a.url}/#/file/{file['id']}")
    page.get_by_role("button", name="Check in OP20.nc").click()
    dialog = page.locator("dialog")
    picker = dialog.get_by_label("New content (optional)")
    assert picker.get_attribute("accept") == ".nc"
    picker.set_input_files({"name": "setup.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"})
    expect(dialog.get_by_role("alert")).to_contain_text("“setup.pdf” is not a .nc file: it will be refused")
    dialog.get_by_role("button", name="Check in").click()
    expect(dialog.locator(".form-error")).to_contain_text("a new version must have the same type")
    picker.set_input_files({"name": "OP20 (1).nc", "mimeType": "text/plain", "buffer": b""})
    expect(dialog.get_by_role("alert").first).to_contain_text("called “OP20 (1).nc”, not “OP20.nc”")
    dialog.get_by_role("button", name="Check in").click()
    expect(dialog).to_have_count(0)
    # An empty file is taken, with a warning the user sees.
    expect(page.locator(".toast.warning")).to_contain_text("is empty (0 bytes)")
    expect(page.locator("#head-version")).to_have_text("version 2")


def test_empty_upload_is_marked_and_blame_is_offered_for_text_only(stack: Stack, open_session: OpenSession) -> None:
    page = open_session(stack.a, "alice").page
    page.locator("#upload-input").set_input_files(
        [
            {"name": "empty.nc", "mimeType": "text/plain", "buffer": b""},
            {"name": "part.mcam", "mimeType": "application/octet-stream", "buffer": b"\x00\x01\x02mcam"},
        ]
    )
    expect(page.locator('.upload-item[data-name="empty.nc"]')).to_contain_text("is empty (0 bytes)")
    expect(page.locator(".toast.warning")).to_contain_text("empty.nc is empty")
    row(page, "part.mcam").get_by_role("link", name="part.mcam").click()
    expect(page.locator("table.history tbody tr")).to_have_count(1)
    expect(page.locator(".tabs").get_by_role("link")).to_have_text(["History"])
    expect(page.locator("table.history").get_by_role("link", name="Blame")).to_have_count(0)
    page.locator(".breadcrumbs").get_by_role("link", name="Vault").click()
    row(page, "empty.nc").get_by_role("link", name="empty.nc").click()
    # An NC program: its text and backplot view besides the history and blame.
    expect(page.locator(".tabs").get_by_role("link")).to_have_text(["History", "Program", "Blame"])


def test_long_paths_wrap_and_tables_fit_narrow_and_dark_windows(stack: Stack, open_session: OpenSession) -> None:
    folder = "/".join(["Kunde-Maschinenbau-GmbH-Sonderanfertigung-Projekt-2026-Vorrichtungen"] * 6)
    long = stack.upload(f"{folder}/{'Spannvorrichtung-Fraesbearbeitung-Aussenkontur-OP10' * 3}.nc", b"G0\nG1 X1\n")
    session = open_session(stack.a, "alice", width=1400, height=900)
    page = session.page
    page.goto(f"{stack.a.url}/#/files?folder={folder}")
    expect(page.locator("table.files tbody tr")).to_have_count(1)
    wide = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(wide)
    crumbs = page.locator(".breadcrumbs")
    assert crumbs.evaluate("n => n.getBoundingClientRect().width") <= 1400
    assert crumbs.get_attribute("title") == folder  # the whole path as a tooltip
    page.goto(f"{stack.a.url}/#/file/{long['id']}")
    expect(page.locator("h1.path")).to_contain_text("Spannvorrichtung")
    assert page.evaluate(wide)

    # 390 px wide and dark, as a phone in a dark workshop: history and blame are usable, nothing spills.
    narrow = open_session(stack.a, "alice", width=390, height=800)
    narrow.page.emulate_media(color_scheme="dark")
    p = narrow.page
    r = stack.api("alice").post(f"/api/files/{long['id']}/checkout", json={"message": "m"})
    assert r.status_code == 200
    name = long["path"].rsplit("/", 1)[-1]
    r = stack.api("alice").post(f"/api/files/{long['id']}/checkin", files={"file": (name, b"G0\nG1 X2\n")})
    assert r.status_code == 200
    p.goto(f"{stack.a.url}/#/file/{long['id']}")
    versions = p.locator("table.history tbody tr")
    expect(versions).to_have_count(2)
    assert p.evaluate(wide)
    download = versions.first.get_by_role("button", name="Download version 2")
    box = download.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    background = p.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    text = p.evaluate("getComputedStyle(document.body).color")
    assert background == "rgb(15, 20, 25)" and text == "rgb(230, 233, 237)"
    p.get_by_role("link", name="Blame", exact=True).click()
    expect(p.locator("table.blame tbody tr")).to_have_count(2)
    assert p.evaluate(wide)


def test_audit_page_finds_by_prefix_and_any_name_shows_fields_and_exports_csv(
    stack: Stack, open_session: OpenSession
) -> None:
    file = stack.upload("op60.nc", b"G0\n", username="alice")
    api = stack.api("alice")
    assert api.post(f"/api/files/{file['id']}/checkout", json={"message": "long job"}).status_code == 200
    assert stack.api("boss").post(f"/api/files/{file['id']}/force-release").status_code == 200
    page = open_session(stack.a, "boss").page
    rows = audit_rows(page, action="lock.force")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-action", "lock.force_released")
    # Details are fields, not JSON.
    expect(rows.first.locator("dl.detail-fields dt")).to_contain_text(["file id", "holder"])
    expect(rows.first.locator("td.details")).not_to_contain_text("{")
    rows = audit_rows(page, who="Alic", action="lock")  # part of the full name "Alice"
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-action", "lock.checkout")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("camvault-audit-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as fh:
        exported = list(csv.DictReader(io.StringIO(fh.read())))
    assert [(r["actor"], r["action"]) for r in exported] == [("alice", "lock.checkout")]
