"""Logging in and out in the browser; a token the server stops accepting sends the page to login."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import OpenSession, Stack, log_in


def test_login_failure_then_success_then_logout_revokes(stack: Stack, open_session: OpenSession) -> None:
    s = open_session(stack.a)
    page = s.page
    page.get_by_label("Username or email").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect")
    assert page.evaluate("sessionStorage.getItem('camvault.token')") is None

    log_in(page, "alice")
    expect(page.locator("#me")).to_have_text("Alice (user)")
    token = page.evaluate("sessionStorage.getItem('camvault.token')")
    assert token
    assert stack.api("alice").get("/api/users/me").status_code == 200

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('camvault.token')") is None
    # The server forgot the token too: logout is a revocation, not just a cleared tab.
    r = stack.api("alice").get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_token_lives_for_the_browser_session_only(stack: Stack, open_session: OpenSession) -> None:
    s = open_session(stack.a, "alice")
    s.page.reload()
    expect(s.page.locator("#me")).to_have_text("Alice (user)")  # a reload keeps the session
    other = open_session(stack.a)  # a new browser session (context) starts logged out
    expect(other.page.get_by_role("button", name="Log in")).to_be_visible()


def test_a_401_sends_the_browser_back_to_login(stack: Stack, open_session: OpenSession) -> None:
    s = open_session(stack.b, "bob")
    page = s.page
    token = page.evaluate("sessionStorage.getItem('camvault.token')")
    # Logged out elsewhere (another tab, or an admin deactivated bob): the socket closes with
    # 1008 and any request answers 401; either way the page asks to log in again.
    r = stack.api("bob").post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=5_000)
    expect(page.get_by_role("alert")).to_contain_text("log in again")
    assert page.evaluate("sessionStorage.getItem('camvault.token')") is None
