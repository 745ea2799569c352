"""Admin pages in the browser: managing users, deleting and restoring files."""

from __future__ import annotations

import httpx
from playwright.sync_api import Locator, Page, Route, expect

from tests.e2e.conftest import OpenSession, Stack, audit_rows, row, wait_until_held


def users_page(stack: Stack, open_session: OpenSession) -> tuple[Page, Locator]:
    """boss on the Users page with the stack's four users listed; the page and its rows."""
    page = open_session(stack.a, "boss").page
    page.get_by_role("link", name="Users").click()
    users = page.locator("table.users tbody tr")
    expect(users).to_have_count(4)
    return page, users


def test_admin_creates_a_user_changes_role_resets_password_and_deactivates(
    stack: Stack, open_session: OpenSession
) -> None:
    page, _ = users_page(stack, open_session)

    page.get_by_role("button", name="New user").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("Username").fill("alice")
    dialog.get_by_label("Full name").fill("Carl Dreher")
    dialog.get_by_label("Role").select_option("viewer")
    dialog.get_by_label("Password").fill("carl-password-1")
    dialog.get_by_role("button", name="Create user").click()
    expect(dialog.locator(".form-error")).to_have_text("Username is already taken")  # the API said no; the dialog stays
    dialog.get_by_label("Username").fill("carl")
    dialog.get_by_role("button", name="Create user").click()
    carl = page.locator('tr[data-username="carl"]')
    expect(carl).to_contain_text("Carl Dreher")

    carl.get_by_label("Role of carl").select_option("user")
    expect(page.locator(".toast").filter(has_text="carl is now user")).to_be_visible()

    carl.get_by_role("button", name="Reset password of carl").click()
    page.locator("dialog").get_by_label("New password").fill("carl-password-2")
    page.locator("dialog").get_by_role("button", name="Set password").click()
    expect(page.locator(".toast").filter(has_text="Password of carl reset")).to_be_visible()

    with httpx.Client(base_url=stack.b.url) as client:
        r = client.post("/api/auth/token", json={"login": "carl", "password": "carl-password-2"})
        assert r.status_code == 200
        assert r.json()["user"]["role"] == "user"

        carl.get_by_role("button", name="Deactivate carl").click()
        page.locator("dialog").get_by_role("button", name="Deactivate").click()
        expect(page.locator('tr[data-username="carl"]')).to_contain_text("deactivated")
        r = client.post("/api/auth/token", json={"login": "carl", "password": "carl-password-2"})
        assert r.status_code == 401

    events = audit_rows(page, action="user", target="carl")
    expect(events).to_have_count(4)
    assert [e.get_attribute("data-action") for e in events.all()] == [
        "user.updated",
        "user.password_reset",
        "user.updated",
        "user.created",
    ]


def test_admin_deletes_and_restores_a_file(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("old/op5.nc", b"G0\n")
    assert stack.api("alice").post(f"/api/files/{file['id']}/checkout", json={"message": "m"}).status_code == 200
    bob = open_session(stack.b, "bob").page
    bob.get_by_role("link", name="old", exact=True).click()
    expect(row(bob, "old/op5.nc")).to_be_visible()

    page = open_session(stack.a, "boss").page
    page.goto(f"{stack.a.url}/#/file/{file['id']}")
    page.get_by_role("button", name="Delete op5.nc").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("It is checked out by alice: release that lock too").check()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(".file-header")).to_contain_text("Deleted")
    expect(row(bob, "old/op5.nc")).to_have_count(0, timeout=2_000)  # gone from the other list live

    page.locator(".breadcrumbs").get_by_role("link", name="old", exact=True).click()
    page.get_by_label("Show deleted").check()
    deleted = row(page, "old/op5.nc")
    expect(deleted.locator(".status")).to_have_text("Deleted")
    deleted.get_by_role("button", name="Restore").click()
    expect(deleted).to_have_count(0)
    expect(row(bob, "old/op5.nc")).to_be_visible(timeout=2_000)
    assert stack.api("bob").get(f"/api/files/{file['id']}").json()["lock"] is None


def test_audit_log_pages_back_in_time(stack: Stack, open_session: OpenSession) -> None:
    files = [("files", (f"batch-{i:02}.nc", b"G0\n")) for i in range(60)]
    assert stack.api("alice").post("/api/files", data={"folder": "batch"}, files=files).status_code == 201
    page = open_session(stack.a, "boss").page
    events = audit_rows(page, action="file.uploaded")
    expect(events).to_have_count(50)
    page.get_by_role("button", name="Load older").click()
    expect(events).to_have_count(60)
    expect(page.get_by_role("button", name="Load older")).to_be_hidden()
    targets = [t.strip() for t in events.locator("td:nth-child(4)").all_inner_texts()]
    assert sorted(targets) == [f"batch/batch-{i:02}.nc" for i in range(60)]
    assert len(set(targets)) == 60  # no row twice across the page boundary


def test_load_older_waits_for_the_search_on_its_way(stack: Stack, open_session: OpenSession) -> None:
    # "Load older" pressed while a new search is still on its way used the cursor of the rows shown with the new
    # filters, and its rows were added to the new search's page (61 rows where 60 were meant).
    files = [("files", (f"older-{i:02}.nc", b"G0\n")) for i in range(60)]
    assert stack.api("alice").post("/api/files", data={"folder": "older"}, files=files).status_code == 201
    page = open_session(stack.a, "boss").page
    events = page.locator("table.audit tbody tr")
    older = page.get_by_role("button", name="Load older")
    seen: list[bool] = []

    def answer_late(route: Route) -> None:
        if "cursor=" in route.request.url:  # the older page itself
            route.continue_()
            return
        answer = route.fetch()
        seen.append(older.is_enabled())  # the unfiltered rows still show, with their cursor
        route.fulfill(response=answer)

    page.get_by_role("link", name="Audit").click()
    expect(events).to_have_count(50)  # every kind of event: the logins and the uploads
    expect(older).to_be_enabled()
    page.route("**/api/admin/audit?*action=file.uploaded*", answer_late)
    page.get_by_label("Action").fill("file.uploaded")
    page.get_by_role("button", name="Filter").click()
    older.click()
    expect(events).to_have_count(60)
    assert seen == [False]
    targets = [t.strip() for t in events.locator("td:nth-child(4)").all_inner_texts()]
    assert sorted(targets) == [f"older/older-{i:02}.nc" for i in range(60)]


def test_the_user_list_shows_the_search_as_typed_whichever_answer_comes_last(
    stack: Stack, open_session: OpenSession
) -> None:
    page, users = users_page(stack, open_session)
    held: list[Route] = []
    page.route("**/api/admin/users?*q=ali*", lambda route: held.append(route))  # the first search's answer is kept back
    search = page.get_by_label("Search")
    search.fill("ali")
    wait_until_held(page, held, "the first search")
    search.fill("bob")
    expect(users).to_have_count(1)
    expect(users.first).to_contain_text("bob")
    with page.expect_response(lambda r: "q=ali" in r.url):
        held[0].continue_()
    page.wait_for_timeout(200)  # the late answer has been read and dropped, not drawn
    expect(users).to_have_count(1)
    expect(users.first).to_contain_text("bob")
