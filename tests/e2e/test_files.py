"""The file browser and the file page: roles, hostile names, history, diff, blame, presence."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.core.config import Settings
from tests.cli import camvault
from tests.e2e.conftest import OpenSession, Stack, row
from tests.vault import commit_as_older_camvault

pytestmark = pytest.mark.heavy

HOSTILE = "<img src=x onerror=alert(1)>.nc"
ENTITIES = "&lt;img src=x onerror=alert(1)&gt; & 'q'.nc"


def check_out_and_in(stack: Stack, file_id: int, content: bytes, username: str = "alice") -> None:
    api = stack.api(username)
    assert api.post(f"/api/files/{file_id}/checkout", json={"message": "edit"}).status_code == 200
    r = api.post(f"/api/files/{file_id}/checkin", data={"message": "second cut"}, files={"file": ("x.nc", content)})
    assert r.status_code == 200, r.text


def test_viewer_sees_no_lock_upload_or_admin_controls(stack: Stack, open_session: OpenSession) -> None:
    free = stack.upload("free.nc", b"G0\n")
    held = stack.upload("held.nc", b"G1\n")
    stack.upload("wip.nc", b"G2\n")  # never released: the shop floor (viewers) does not see it
    for part in (free, held):  # released, so the floor sees them
        stack.release(part["id"])
    assert stack.api("alice").post(f"/api/files/{held['id']}/checkout", json={"message": "m"}).status_code == 200
    page = open_session(stack.b, "vera").page
    expect(page.locator("#me")).to_have_text("Vera (viewer)")
    expect(row(page, "free.nc")).to_be_visible()
    expect(row(page, "wip.nc")).to_have_count(0)
    expect(row(page, "held.nc").locator(".status")).to_have_text("Checked out by alice")
    for name in (
        "Check out",
        "Check in",
        "Renew",
        "Release",
        "Force release",
        "Delete",
        "Restore",
        "Submit",
        "Obsolete",
    ):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_text("Upload files…")).to_have_count(0)
    expect(page.locator("#upload-input")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    expect(page.get_by_label("Show deleted")).to_have_count(0)
    expect(row(page, "free.nc").get_by_role("button", name="Download")).to_be_visible()
    page.get_by_role("link", name="held.nc").click()
    expect(page.locator(".lock-details")).to_contain_text("alice")
    expect(page.locator(".file-header").get_by_role("button")).to_have_text(["Download"])
    # Admin pages are not reachable by typing their address either.
    page.goto(f"{stack.b.url}/#/admin/users")
    expect(page.get_by_role("heading", name="Users")).to_have_count(0)
    expect(row(page, "free.nc")).to_be_visible()
    assert free["id"] != held["id"]


def test_a_hostile_file_name_is_shown_as_text(stack: Stack, open_session: OpenSession) -> None:
    # Markup the vault still stores as a name (it refuses `<` and `>` since issue 16, for Windows' sake):
    # inserted as HTML it would show decoded, so seeing it verbatim means it went in as text.
    boss = open_session(stack.a, "boss").page
    bob = open_session(stack.b, "bob").page
    stack.upload(ENTITIES, b"G0\n", username="alice")  # arrives live: list row and toast
    link = bob.get_by_role("link", name=ENTITIES, exact=True)
    expect(link).to_be_visible(timeout=2_000)
    expect(bob.locator(".toast").filter(has_text=f"alice uploaded {ENTITIES}")).to_be_visible()
    link.click()
    expect(bob.locator("h1.path")).to_have_text(ENTITIES)
    boss.get_by_role("link", name="Audit").click()
    expect(boss.locator("table.audit").get_by_text(ENTITIES, exact=True)).to_be_visible()
    for page in (bob, boss):
        assert page.locator("img").count() == 0
        assert page.evaluate("document.title").endswith("camvault")
    # `open_session` fails the test if any alert() ran (see its dialog handler).


def test_a_markup_name_stored_by_an_older_camvault_is_shown_as_text(stack: Stack, open_session: OpenSession) -> None:
    """Vaults from before issue 16 may hold `<img …>` names; they keep working, and are just names."""
    for worker in stack.workers:  # the older release stores it, then the new one starts
        worker.stop()
    commit_as_older_camvault(Path(stack.a.env["DATA_DIR"]) / "vault.git", {HOSTILE: b"G0\n"}, "alice")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=stack.a.env["DATABASE_URL"],
        data_dir=Path(stack.a.env["DATA_DIR"]),
        secret_key=stack.a.env["SECRET_KEY"],
    )
    assert camvault(settings, "reindex").returncode == 0
    for worker in stack.workers:
        worker.start()
    bob = open_session(stack.b, "bob").page
    link = bob.get_by_role("link", name=HOSTILE, exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(bob.locator("h1.path")).to_have_text(HOSTILE)
    assert bob.locator("img").count() == 0


def test_history_download_diff_and_blame(stack: Stack, open_session: OpenSession) -> None:
    v1 = b"G0 X0\nG1 X10 F200\nM30\n"
    v2 = b"G0 X0\nG1 X12 F250\nM30\n"
    file = stack.upload("parts/bracket.nc", v1, username="bob")
    check_out_and_in(stack, file["id"], v2)
    page = open_session(stack.a, "alice").page
    page.goto(f"{stack.a.url}/#/file/{file['id']}")
    expect(page.locator("#head-version")).to_have_text("version 2")
    versions = page.locator("table.history tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("alice")
    expect(versions.nth(0)).to_contain_text("second cut")
    expect(versions.nth(1)).to_contain_text("bob")

    with page.expect_download() as info:
        versions.nth(1).get_by_role("button", name="Download version 1").click()
    download = info.value
    assert download.suggested_filename == "bracket.v1.nc"  # an older version is named for what it is
    assert "/content?dl=" in download.url  # a link the browser streams to disk, not a blob in the tab
    with open(download.path(), "rb") as fh:
        assert fh.read() == v1

    versions.nth(0).get_by_role("link", name="Diff with previous").click()
    expect(page.get_by_role("heading", name="Changes from version 1 to 2")).to_be_visible()
    expect(page.locator("pre.diff .del")).to_contain_text(["-G1 X10 F200"])
    expect(page.locator("pre.diff .add")).to_contain_text(["+G1 X12 F250"])

    page.get_by_role("link", name="Blame").click()
    lines = page.locator("table.blame tbody tr")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("v1")
    expect(lines.nth(0)).to_contain_text("Bob")  # Git's author: the full name
    expect(lines.nth(1)).to_contain_text("v2")
    expect(lines.nth(1)).to_contain_text("Alice")
    expect(lines.nth(1).locator(".code")).to_have_text("G1 X12 F250")


def test_presence_and_who_is_viewing_the_open_file(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("probe.nc", b"G0\n")
    alice = open_session(stack.a, "alice").page
    bob = open_session(stack.b, "bob").page
    expect(alice.locator("#online li")).to_have_text(["alice", "bob"])
    expect(bob.locator("#online li")).to_have_text(["alice", "bob"])
    bob.get_by_role("link", name="probe.nc").click()
    alice.get_by_role("link", name="probe.nc").click()
    expect(alice.locator(".viewers")).to_have_text("Also viewing: Bob")
    expect(bob.locator(".viewers")).to_have_text("Also viewing: Alice")
    bob.locator(".breadcrumbs").get_by_role("link", name="Vault").click()
    expect(alice.locator(".viewers")).to_have_text("")
    bob.context.close()
    expect(alice.locator("#online li")).to_have_text(["alice"])
    assert file["version"] == 1


def test_keyboard_and_a_narrow_window(stack: Stack, open_session: OpenSession) -> None:
    stack.upload("jobs/very/deep/folder/with-a-long-name/op10-roughing-and-finishing.nc", b"G0\n")
    stack.upload("op11.nc", b"G0\n")
    page = open_session(stack.a, "alice", width=390, height=800).page
    expect(row(page, "op11.nc")).to_be_visible()
    # The top folder lists its own files only; the deep one is behind its folder link.
    expect(page.locator("table.files tbody tr")).to_have_count(1)
    expect(page.get_by_role("link", name="jobs", exact=True)).to_be_visible()
    # Nothing wider than the window but the table, which scrolls inside its own box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # The actions are buttons in tab order: reach "Check out" with the keyboard and use it.
    button = row(page, "op11.nc").get_by_role("button", name="Check out")
    for _ in range(40):
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("Check out is not reachable with Tab")
    page.keyboard.press("Enter")
    page.keyboard.type("from the keyboard")
    page.keyboard.press("Tab")  # the dialog's Cancel
    page.keyboard.press("Tab")  # then Check out
    page.keyboard.press("Enter")
    expect(row(page, "op11.nc").locator(".status")).to_have_text("Checked out by you")
    assert stack.api("alice").get("/api/locks").json()[0]["message"] == "from the keyboard"
