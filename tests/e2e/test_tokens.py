"""Access tokens in the browser: made (shown once), used by a Basic-auth client, revoked."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.e2e.conftest import OpenSession, Stack

LOCKS = "/git/vault.git/info/lfs/locks"


def test_a_user_creates_copies_and_revokes_an_access_token(stack: Stack, open_session: OpenSession) -> None:
    page = open_session(stack.a, "alice").page
    page.get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="Access tokens")).to_be_visible()
    expect(page.get_by_text("git clone http://127.0.0.1")).to_contain_text("/git/vault.git")
    expect(page.get_by_role("status").filter(has_text="No tokens yet.")).to_be_visible()

    page.get_by_label("Name").fill("laptop git")
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator(".new-token")).to_contain_text("shown only this once")
    secret = page.locator(".new-token input").input_value()
    assert secret.startswith("cvt_")
    rows = page.locator("table.tokens tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("laptop git")
    expect(rows.first).to_contain_text(secret[:8])

    with httpx.Client(base_url=stack.b.url, timeout=30) as client:
        assert client.get(LOCKS, auth=("alice", secret)).status_code == 200

        # Done: the secret leaves the page, and a reload does not bring it back.
        page.get_by_role("button", name="Done").click()
        expect(page.locator(".new-token")).to_be_hidden()
        page.reload()
        expect(page.locator("table.tokens tbody tr")).to_have_count(1)
        assert secret not in page.content()

        page.get_by_role("button", name="Revoke laptop git").click()
        page.locator("dialog").get_by_role("button", name="Revoke").click()
        expect(page.locator("table.tokens tbody tr")).to_have_count(0)
        expect(page.locator(".toast").filter(has_text="revoked")).to_be_visible()
        assert client.get(LOCKS, auth=("alice", secret)).status_code == 401
