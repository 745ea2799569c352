"""Two programmers on two worker processes: locks appear live, refusals name the holder."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import OpenSession, Stack, audit_rows, row

PATH = "cells/op20.nc"


def test_check_out_seen_live_refused_for_the_other_checked_in_and_force_released(
    stack: Stack, open_session: OpenSession
) -> None:
    stack.upload(PATH, b"G0 X0 Y0\nG1 X10\nM30\n")
    alice = open_session(stack.a, "alice").page  # worker A
    bob = open_session(stack.b, "bob").page  # worker B
    for page in (alice, bob):
        page.get_by_role("link", name="cells", exact=True).click()
        expect(row(page, PATH).locator(".status")).to_have_text("Available")
    bob.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # Bob opens the check-out dialog first; alice beats him to it.
    row(bob, PATH).get_by_role("button", name="Check out").click()
    bob.get_by_label("Why are you checking it out?").fill("bob wants it too")

    row(alice, PATH).get_by_role("button", name="Check out").click()
    alice.get_by_label("Why are you checking it out?").fill("new fixture offsets")
    alice.get_by_role("button", name="Check out", exact=True).last.click()
    expect(row(alice, PATH).locator(".status")).to_have_text("Checked out by you")

    # Bob's list shows it within 2 s, in place, without a reload.
    expect(row(bob, PATH).locator(".status")).to_have_text("Checked out by alice", timeout=2_000)
    assert bob.evaluate("window.__sameDocument") is True

    bob.locator("dialog").get_by_role("button", name="Check out").click()
    expect(bob.locator("dialog .form-error")).to_contain_text("checked out by alice")
    bob.locator("dialog").get_by_role("button", name="Cancel").click()
    expect(row(bob, PATH).get_by_role("button", name="Check out")).to_have_count(0)

    # Alice checks in an edited file: bob sees version 2 arrive.
    row(alice, PATH).get_by_role("button", name="Check in").click()
    dialog = alice.locator("dialog")
    dialog.get_by_label("New content (optional)").set_input_files(
        {"name": "op20.nc", "mimeType": "text/plain", "buffer": b"G0 X0 Y0\nG1 X12\nM30\n"}
    )
    dialog.get_by_label("What changed?").fill("X12 after measuring")
    dialog.get_by_role("button", name="Check in").click()
    expect(row(alice, PATH).locator(".version")).to_have_text("v2")
    expect(row(bob, PATH).locator(".version")).to_have_text("v2", timeout=2_000)
    expect(row(bob, PATH).locator(".status")).to_have_text("Available", timeout=2_000)
    expect(bob.locator(".toast").filter(has_text="alice checked in version 2 of cells/op20.nc")).to_be_visible()

    # Alice takes it again and goes home; the admin frees it, and both lists follow.
    row(alice, PATH).get_by_role("button", name="Check out").click()
    alice.get_by_label("Why are you checking it out?").fill("tool change")
    alice.locator("dialog").get_by_role("button", name="Check out").click()
    expect(row(bob, PATH).locator(".status")).to_have_text("Checked out by alice", timeout=2_000)

    boss = open_session(stack.b, "boss").page
    boss.get_by_role("link", name="cells", exact=True).click()
    row(boss, PATH).get_by_role("button", name="Force release").click()
    expect(boss.locator("dialog")).to_contain_text("alice checked out cells/op20.nc (“tool change”)")
    boss.locator("dialog").get_by_role("button", name="Force release").click()
    for page in (boss, alice, bob):
        expect(row(page, PATH).locator(".status")).to_have_text("Available", timeout=2_000)
    expect(alice.locator(".toast").filter(has_text="boss force-released alice's lock on cells/op20.nc")).to_be_visible()

    # The admin's audit page lists what happened, newest first.
    actions = audit_rows(boss, action="lock")
    expect(actions).to_have_count(4)
    assert [a.get_attribute("data-action") for a in actions.all()] == [
        "lock.force_released",
        "lock.checkout",
        "lock.checkin",
        "lock.checkout",
    ]
    expect(actions.first).to_contain_text("boss")
    expect(actions.first).to_contain_text(PATH)
    actions = audit_rows(boss, who="alice")
    expect(actions.filter(has_text="file.version_added")).to_have_count(1)
    expect(actions.filter(has_text="auth.login")).to_have_count(1)


def test_renew_and_release_by_the_holder(stack: Stack, open_session: OpenSession) -> None:
    stack.upload("op30.nc", b"G0\n")
    stack.upload("op31.nc", b"G0\n")
    alice = open_session(stack.a, "alice").page
    row(alice, "op30.nc").get_by_role("button", name="Check out").click()
    alice.get_by_label("Why are you checking it out?").fill("probing")
    alice.locator("dialog").get_by_role("button", name="Check out").click()
    expect(row(alice, "op30.nc").locator(".status")).to_have_text("Checked out by you")
    before = stack.api("alice").get("/api/locks").json()[0]["until"]
    alice.get_by_label("Status").select_option("Checked out by me")
    expect(alice.locator("table.files tbody tr")).to_have_count(1)
    alice.get_by_label("Status").select_option("All files")
    expect(alice.locator("table.files tbody tr")).to_have_count(2)

    row(alice, "op30.nc").get_by_role("button", name="Renew").click()
    expect(alice.locator(".toast").filter(has_text="Lock renewed until")).to_be_visible()
    assert stack.api("alice").get("/api/locks").json()[0]["until"] > before

    row(alice, "op30.nc").get_by_role("button", name="Release").click()
    alice.locator("dialog").get_by_role("button", name="Release").click()
    expect(row(alice, "op30.nc").locator(".status")).to_have_text("Available")
    assert stack.api("alice").get("/api/locks").json() == []
