"""Logging in and out in the browser; a token the server stops accepting sends the page to login."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.e2e.conftest import OpenSession, Stack, log_in


def test_login_failure_then_success_then_logout_revokes(stack: Stack, open_session: OpenSession) -> None:
    s = open_session(stack.a)
    page = s.page
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect")
    assert page.evaluate("localStorage.getItem('camvault.token')") is None

    log_in(page, "alice")
    expect(page.locator("#me")).to_have_text("Alice (user)")
    token = page.evaluate("localStorage.getItem('camvault.token')")
    assert token
    assert stack.api("alice").get("/api/users/me").status_code == 200

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate("localStorage.getItem('camvault.token')") is None
    # The server forgot the token too: logout is a revocation, not just a cleared tab.
    r = stack.api("alice").get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_tabs_of_one_browser_share_the_session(stack: Stack, open_session: OpenSession) -> None:
    file = stack.upload("tabs/op1.nc", b"G0\n")
    s = open_session(stack.a, "alice")
    s.page.reload()
    expect(s.page.locator("#me")).to_have_text("Alice (user)")  # a reload keeps the session
    s.page.get_by_role("link", name="tabs", exact=True).click()
    # Ctrl+click on a row opens a new tab of the same browser: it is logged in, on that file's page.
    with s.context.expect_page() as opened:
        s.page.get_by_role("link", name="op1.nc").click(modifiers=["ControlOrMeta"])
    tab = opened.value
    expect(tab.locator("h1.path")).to_have_text("tabs/op1.nc")
    expect(tab.locator("#me")).to_have_text("Alice (user)")
    assert tab.url.endswith(f"#/file/{file['id']}")
    other = open_session(stack.a)  # another browser (a new context) starts logged out
    expect(other.page.get_by_role("button", name="Log in")).to_be_visible()
    # Logging out in one tab logs out every tab of the browser at once (the same 401 handling after).
    tab.get_by_role("button", name="Log out").click()
    expect(s.page.get_by_role("button", name="Log in")).to_be_visible()
    expect(s.page.get_by_role("alert")).to_contain_text("logged out in another tab")
    tab.close()


def test_the_other_tabs_say_logged_out_in_another_tab_whichever_news_comes_first(
    stack: Stack, open_session: OpenSession
) -> None:
    s = open_session(stack.a, "alice")
    tab = s.context.new_page()
    tab.goto(stack.a.url)
    expect(tab.locator("#me")).to_have_text("Alice (user)")
    expect(s.page.locator("#connection")).to_have_text("Live")

    def answer_late(route: Route) -> None:
        # The server has logged the token out and closed every socket on it before this tab hears back.
        answer = route.fetch()
        assert answer.status == 204
        expect(s.page.get_by_role("button", name="Log in")).to_be_visible()
        route.fulfill(response=answer)

    token = s.page.evaluate("localStorage.getItem('camvault.token')")
    tab.route("**/api/auth/logout", answer_late)
    tab.get_by_role("button", name="Log out").click()
    expect(tab.get_by_role("alert")).to_contain_text("You are logged out.")
    expect(s.page.get_by_role("alert")).to_contain_text("You logged out in another tab.")
    # The logging-out tab took the token out of the browser first, and still revoked it on the server.
    assert stack.api("alice").get("/api/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_401_sends_the_browser_back_to_login(stack: Stack, open_session: OpenSession) -> None:
    s = open_session(stack.b, "bob")
    page = s.page
    token = page.evaluate("localStorage.getItem('camvault.token')")
    # Logged out elsewhere (another tab, or an admin deactivated bob): the socket closes with
    # 1008 and any request answers 401; either way the page asks to log in again.
    r = stack.api("bob").post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=5_000)
    expect(page.get_by_role("alert")).to_contain_text("log in again")
    assert page.evaluate("localStorage.getItem('camvault.token')") is None
