"""A new shop's first hour, as a new user would try it: a folder tree, an upload with a message, a folder
renamed, a file moved, its history intact, version 1 compared with version 3."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import OpenSession, Stack, row

V1 = b"%\nO1042 (BRACKET OP10)\nG0 X0 Y0\nG1 X10 F200\nM30\n%\n"
V2 = b"%\nO1042 (BRACKET OP10)\nG0 X0 Y0\nG1 X10 F260\nM30\n%\n"
V3 = b"%\nO1042 (BRACKET OP10)\nG0 X0 Y0\nG1 X10 F260\nG1 Y5\nM30\n%\n"


def new_folder(page: Page, name: str) -> None:
    page.get_by_role("button", name="New folder").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_have_count(0)


def folder(page: Page, path: str):  # type: ignore[no-untyped-def]
    return page.locator(f'li[data-folder="{path}"]')


def test_a_new_shops_first_hour(stack: Stack, open_session: OpenSession) -> None:
    boss = open_session(stack.a, "boss").page
    alice = open_session(stack.b, "alice").page  # a programmer on the other worker, watching

    # An empty vault offers New folder; the tree is made in the UI, and empty folders survive a reload.
    new_folder(boss, "jobs")
    expect(folder(alice, "jobs")).to_contain_text("empty", timeout=2_000)  # live on the other worker
    boss.get_by_role("link", name="jobs", exact=True).click()
    new_folder(boss, "1042")
    new_folder(boss, "1043/fixtures")
    expect(boss.locator(".folders li a")).to_have_text(["1042", "1043"])
    boss.reload()
    expect(boss.locator(".folders li a")).to_have_text(["1042", "1043"])

    # Upload into jobs/1042 with a message.
    boss.get_by_role("link", name="1042", exact=True).click()
    expect(boss.locator(".breadcrumbs")).to_contain_text("jobs/1042")
    boss.get_by_label("Upload message").fill("first cut from CAM")
    boss.locator("#upload-input").set_input_files(
        [
            {"name": "OP10.nc", "mimeType": "text/plain", "buffer": V1},
            {"name": "setup-sheet.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n\x00\x01binary"},
        ]
    )
    expect(row(boss, "jobs/1042/OP10.nc")).to_be_visible()
    expect(row(boss, "jobs/1042/setup-sheet.pdf")).to_be_visible()
    ids = {
        f["path"]: f["id"] for f in stack.api("boss").get("/api/files", params={"folder": "jobs/1042"}).json()["items"]
    }
    op10 = ids["jobs/1042/OP10.nc"]

    # Alice makes versions 2 and 3 (a check-out, an edit, a check-in, twice).
    api = stack.api("alice")
    for content, message in ((V2, "F260 on the finish"), (V3, "add the Y5 pass")):
        assert api.post(f"/api/files/{op10}/checkout", json={"message": message}).status_code == 200
        r = api.post(f"/api/files/{op10}/checkin", data={"message": message}, files={"file": ("OP10.nc", content)})
        assert r.status_code == 200, r.text

    # The folder 1042 becomes 1042-A (one commit for its files); the list follows.
    boss.locator(".breadcrumbs").get_by_role("link", name="jobs", exact=True).click()
    boss.get_by_role("button", name="Rename or move folder 1042").click()
    dialog = boss.locator("dialog")
    dialog.get_by_label("New path").fill("jobs/1042-A")
    dialog.get_by_role("button", name="Rename").click()
    expect(folder(boss, "jobs/1042-A")).to_contain_text("2 files")
    expect(folder(boss, "jobs/1042")).to_have_count(0)

    # OP10.nc moves into its own subfolder, from its page.
    boss.get_by_role("link", name="1042-A", exact=True).click()
    boss.get_by_role("link", name="OP10.nc").click()
    boss.get_by_role("button", name="Rename / move OP10.nc").click()
    dialog = boss.locator("dialog")
    dialog.get_by_label("New path").fill("jobs/1042-A/programs/OP10.nc")
    dialog.get_by_role("button", name="Rename / move").click()
    expect(boss.locator("h1.path")).to_have_text("jobs/1042-A/programs/OP10.nc")

    # Its history is intact: three versions, their messages, and where each was made.
    versions = boss.locator("table.history tbody tr")
    expect(versions).to_have_count(3)
    expect(versions.nth(0)).to_contain_text("add the Y5 pass")
    expect(versions.nth(1)).to_contain_text("F260 on the finish")
    expect(versions.nth(2)).to_contain_text("first cut from CAM")
    expect(versions.nth(2)).to_contain_text("(as jobs/1042/OP10.nc)")

    # Compare version 1 with version 3.
    boss.get_by_label("Compare version").select_option("1")
    boss.get_by_label("with version").select_option("3")
    boss.get_by_role("button", name="Compare").click()
    expect(boss.get_by_role("heading", name="Changes from version 1 to 3")).to_be_visible()
    expect(boss.locator("pre.diff .del")).to_contain_text(["-G1 X10 F200"])
    expect(boss.locator("pre.diff .add")).to_contain_text(["+G1 X10 F260", "+G1 Y5"])

    # Blame (a text file) reaches back to version 1 across the rename and the move.
    boss.get_by_role("link", name="Blame", exact=True).click()
    lines = boss.locator("table.blame tbody tr")
    expect(lines).to_have_count(7)
    expect(lines.nth(0).locator("td").first).to_have_text("v1")  # a group's first line names its version
    expect(lines.nth(3).locator("td").first).to_have_text("v2")
    expect(lines.nth(4).locator("td").first).to_have_text("v3")
    expect(lines.nth(5).locator("td").first).to_have_text("v1")

    # The other programmer's list followed all of it live, and the audit log has it.
    alice.get_by_role("link", name="jobs", exact=True).click()
    expect(folder(alice, "jobs/1042-A")).to_be_visible()
    audit = [e["action"] for e in stack.api("boss").get("/api/admin/audit", params={"action": "f"}).json()["items"]]
    assert audit.count("file.moved") == 3 and "folder.moved" in audit and audit.count("folder.created") == 3
