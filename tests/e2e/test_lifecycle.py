"""The release lifecycle in the browser: a programmer submits, an approver releases, the shop floor follows live.

anna (user) submits, bob (approver) approves with a comment on another worker, olaf (viewer, the shop floor)
sees revision A appear without reloading; anna checks out and checks in version 3, olaf still downloads A;
bob releases B from the Reviews page with the diff against A in front of him; olaf now gets B.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import APIResponse, Page, Route, expect

from tests.e2e.conftest import PASSWORD, OpenSession, Stack, row, wait_until_held

pytestmark = pytest.mark.heavy

PATH = "cells/op10.nc"
V2 = b"G0 X0 Y0\nG1 X10 F200\nM30\n"
V3 = b"G0 X0 Y0\nG1 X10 F260\nM30\n"


def people(stack: Stack) -> None:
    boss = stack.api("boss")
    for username, role in (("anna", "user"), ("olaf", "viewer")):
        r = boss.post("/api/admin/users", json={"username": username, "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.text
    bob = next(u for u in boss.get("/api/admin/users", params={"q": "bob"}).json()["items"] if u["username"] == "bob")
    assert boss.patch(f"/api/admin/users/{bob['id']}", json={"is_approver": True}).status_code == 200


def downloaded(page: Page) -> bytes:
    with page.expect_download() as info:
        row(page, PATH).get_by_role("button", name="Download").click()
    return Path(info.value.path()).read_bytes()


def test_submit_approve_and_the_floor_follows_live(stack: Stack, open_session: OpenSession) -> None:
    people(stack)
    part = stack.upload(PATH, b"G0 X0 Y0\nM30\n", username="anna")
    anna_api = stack.api("anna")
    assert anna_api.post(f"/api/files/{part['id']}/checkout", json={"message": "feeds"}).status_code == 200
    r = anna_api.post(f"/api/files/{part['id']}/checkin", files={"file": ("op10.nc", V2)}, data={"message": "F200"})
    assert r.status_code == 200, r.text

    # The shop floor: nothing released yet.
    olaf = open_session(stack.b, "olaf").page
    expect(olaf.get_by_role("link", name="Released programs")).to_be_visible()
    expect(olaf.get_by_role("link", name="Reviews")).to_have_count(0)
    olaf.goto(f"{stack.b.url}/#/files?folder=cells")
    expect(olaf.locator("#files-summary")).to_have_text("No files in this folder.")
    olaf.evaluate("window.__sameDocument = true")

    # anna submits version 2 from the file list.
    anna = open_session(stack.a, "anna").page
    anna.get_by_role("link", name="cells", exact=True).click()
    expect(row(anna, PATH).locator(".lifecycle")).to_have_text("Work in progress")
    row(anna, PATH).get_by_role("button", name="Submit").click()
    anna.locator("dialog").get_by_label("Note for the approver").fill("F200 proved on the first part")
    anna.locator("dialog").get_by_role("button", name="Submit for review").click()
    expect(row(anna, PATH).locator(".lifecycle")).to_have_text("In review")
    expect(row(anna, PATH).get_by_role("button", name="Check out")).to_have_count(0)

    # bob approves with a comment from his Reviews page, on the other worker.
    bob = open_session(stack.b, "bob").page
    bob.get_by_role("link", name="Reviews").click()
    awaiting = bob.locator('table[data-scope="awaiting"] tr[data-path="cells/op10.nc"]')
    expect(awaiting).to_contain_text("F200 proved on the first part")
    awaiting.get_by_role("button", name="Approve").click()
    dialog = bob.locator("dialog")
    expect(dialog).to_contain_text("Version 2 becomes revision A")
    dialog.get_by_label("Comment").fill("measured OK on the DMU 50")
    dialog.get_by_role("button", name="Approve").click()
    expect(bob.locator(".toast").filter(has_text="cells/op10.nc released as revision A")).to_be_visible()
    expect(awaiting).to_have_count(0)

    # olaf sees revision A arrive, live, and downloads it.
    expect(row(olaf, PATH).locator(".lifecycle")).to_have_text("Released A", timeout=3_000)
    expect(row(olaf, PATH).locator(".version")).to_have_text("v2")
    assert olaf.evaluate("window.__sameDocument") is True
    assert downloaded(olaf) == V2
    expect(row(anna, PATH).locator(".lifecycle")).to_have_text("Released A", timeout=3_000)

    # anna checks out and checks in version 3: the floor keeps A ("Released A · B in work").
    row(anna, PATH).get_by_role("button", name="Check out").click()
    anna.get_by_label("Why are you checking it out?").fill("faster finish")
    anna.locator("dialog").get_by_role("button", name="Check out").click()
    expect(row(olaf, PATH).locator(".lifecycle")).to_have_text("Released A · B in work", timeout=3_000)
    row(anna, PATH).get_by_role("button", name="Check in").click()
    anna.locator("dialog").get_by_label("New content (optional)").set_input_files(
        {"name": "op10.nc", "mimeType": "text/plain", "buffer": V3}
    )
    anna.locator("dialog").get_by_label("What changed?").fill("F260")
    anna.locator("dialog").get_by_role("button", name="Check in").click()
    expect(row(anna, PATH).locator(".version")).to_have_text("v3")
    expect(row(anna, PATH).locator(".lifecycle")).to_have_text("Released A · B in work")
    expect(row(olaf, PATH).locator(".lifecycle")).to_have_text("Released A", timeout=3_000)
    expect(row(olaf, PATH).locator(".version")).to_have_text("v2")
    assert downloaded(olaf) == V2

    # anna submits version 3; bob reads the diff against A, then releases B.
    row(anna, PATH).get_by_role("button", name="Submit").click()
    anna.locator("dialog").get_by_role("button", name="Submit for review").click()
    expect(row(anna, PATH).locator(".lifecycle")).to_have_text("Released A · B in review")
    expect(awaiting).to_have_count(1, timeout=3_000)
    awaiting.get_by_role("button", name="Diff with A").click()
    diff = bob.locator("tr.review-diff pre.diff")
    expect(diff.locator(".del")).to_contain_text("-G1 X10 F200")
    expect(diff.locator(".add")).to_contain_text("+G1 X10 F260")
    awaiting.get_by_role("button", name="Approve").click()
    expect(bob.locator("dialog")).to_contain_text("Version 3 becomes revision B")
    bob.locator("dialog").get_by_role("button", name="Approve").click()

    expect(row(olaf, PATH).locator(".lifecycle")).to_have_text("Released B", timeout=3_000)
    expect(row(olaf, PATH).locator(".version")).to_have_text("v3")
    assert downloaded(olaf) == V3

    # olaf's file page: the released revisions only, with their labels.
    olaf.get_by_role("link", name="op10.nc").click()
    expect(olaf.locator("#revision")).to_contain_text("B (version 3)")
    history = olaf.locator("table.history tbody tr")
    expect(history).to_have_count(2)
    assert [r.strip() for r in history.locator(".revision").all_inner_texts()] == ["B", "A"]


def test_reject_obsolete_reinstate_and_the_state_filters(stack: Stack, open_session: OpenSession) -> None:
    people(stack)
    alice = stack.api("alice")
    old = stack.upload("cells/old.nc", b"G0 OLD\n", username="alice")
    wip = stack.upload("cells/wip.nc", b"G0 WIP\n", username="alice")
    assert alice.post(f"/api/files/{wip['id']}/submit", json={"comment": "please look"}).status_code == 200
    assert alice.post(f"/api/files/{old['id']}/submit", json={}).status_code == 200
    assert stack.api("bob").post(f"/api/files/{old['id']}/approve", json={}).status_code == 200

    # bob rejects from the file page: the comment is required.
    bob = open_session(stack.a, "bob").page
    bob.goto(f"{stack.a.url}/#/file/{wip['id']}")
    expect(bob.locator(".review-details")).to_contain_text("Version 1 is in review: submitted by alice")
    bob.locator(".file-header").get_by_role("button", name="Reject").click()
    dialog = bob.locator("dialog")
    dialog.get_by_label("What has to change?").fill("feed too high on the finish pass")
    dialog.get_by_role("button", name="Reject").click()
    expect(bob.locator(".file-header .badge.state")).to_have_text("Work in progress")
    expect(bob.locator(".file-header").get_by_role("button", name="Approve")).to_have_count(0)

    # The admin makes the released file obsolete (with a reason), finds it by state, and reinstates it.
    boss = open_session(stack.b, "boss").page
    boss.get_by_role("link", name="cells", exact=True).click()
    row(boss, "cells/old.nc").get_by_role("button", name="Obsolete").click()
    boss.locator("dialog").get_by_label("Why?").fill("fixture scrapped")
    boss.locator("dialog").get_by_role("button", name="Make obsolete").click()
    expect(row(boss, "cells/old.nc").locator(".lifecycle")).to_have_text("Obsolete (was A)")
    expect(row(boss, "cells/old.nc").get_by_role("button", name="Check out")).to_have_count(0)
    boss.locator('select[name="state"]').select_option("obsolete")
    expect(boss.locator("table.files tbody tr")).to_have_count(1)
    boss.locator('select[name="state"]').select_option("")
    boss.get_by_label("Released only").check()
    expect(boss.locator("#files-summary")).to_have_text("No files in this folder.")
    boss.get_by_label("Released only").uncheck()
    row(boss, "cells/old.nc").get_by_role("button", name="Reinstate").click()
    boss.locator("dialog").get_by_role("button", name="Reinstate").click()
    expect(row(boss, "cells/old.nc").locator(".lifecycle")).to_have_text("Released A")
    boss.get_by_label("Released only").check()
    expect(boss.locator("table.files tbody tr")).to_have_count(1)
    expect(boss.locator("#floor-note")).to_be_visible()
    # alice sees the rejection's reason on her Reviews page.
    mine = open_session(stack.a, "alice").page
    mine.get_by_role("link", name="Reviews").click()
    submitted = mine.locator('table[data-scope="submitted"] tr[data-path="cells/wip.nc"]')
    expect(submitted.locator(".review-status")).to_have_text("rejected: feed too high on the finish pass")


def test_reviews_keep_the_newest_reload_when_an_earlier_one_answers_last(
    stack: Stack, open_session: OpenSession
) -> None:
    people(stack)
    first = stack.upload("late/op1.nc", b"G0\n")
    second = stack.upload("late/op2.nc", b"G0\n")
    bob = open_session(stack.b, "bob").page
    bob.get_by_role("link", name="Reviews").click()
    awaiting = bob.locator('table[data-scope="awaiting"] tr[data-review-id]')
    expect(bob.locator('table[data-scope="awaiting"]')).to_be_visible()
    held: list[tuple[Route, APIResponse]] = []

    def keep_the_first_back(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # answered now (one review), shown later

    bob.route("**/api/reviews?*scope=awaiting*", keep_the_first_back)
    # The live reload after the first submit is kept back; the one after the second answers at once.
    assert stack.api("alice").post(f"/api/files/{first['id']}/submit", json={}).status_code == 200
    wait_until_held(bob, held, "the first reload")
    assert stack.api("alice").post(f"/api/files/{second['id']}/submit", json={}).status_code == 200
    expect(awaiting).to_have_count(2)
    route, answer = held[0]
    with bob.expect_response(lambda r: r.request.url == route.request.url):
        route.fulfill(response=answer)
    bob.wait_for_timeout(200)  # the late answer has been read and dropped, not drawn
    expect(awaiting).to_have_count(2)
