"""/docs on a shop network without internet: Swagger UI from the app's own files, under the strict CSP."""

from __future__ import annotations

from playwright.sync_api import Route, expect

from tests.e2e.conftest import OpenSession, Stack


def test_api_docs_render_operations_with_every_other_host_blocked(stack: Stack, open_session: OpenSession) -> None:
    session = open_session(stack.a)
    elsewhere: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(stack.a.url):
            route.continue_()
        else:  # a CDN, a font host, anything: as on a network without internet
            elsewhere.append(route.request.url)
            route.abort()

    session.context.route("**/*", only_this_server)
    page = session.page
    csp: list[str] = []
    page.on("response", lambda r: r.url.endswith("/docs") and csp.append(r.headers["content-security-policy"]))
    page.goto(f"{stack.a.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("camvault")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 30
    expect(page.locator(".opblock-summary-path", has_text="/api/files/{file_id}/move")).to_have_count(1)
    # An operation opens and shows its parameters (Swagger UI works, not only its first paint).
    page.locator(".opblock-summary", has_text="/api/folders/move").first.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    assert elsewhere == []
    assert csp and "script-src 'self';" in csp[0] and "unsafe-inline" not in csp[0]
    # A CSP violation or a script error is a console error: open_session fails the test on any.
