"""The development server serves the UI with the same security headers as nginx.conf."""

from __future__ import annotations

import re

import httpx

from app.api.static import CONTENT_SECURITY_POLICY
from tests.deploy.native import ROOT


async def test_ui_is_served_with_the_production_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script type="module" src="/js/main.js">' in page.text
    for response in (page, await client.get("/js/main.js"), await client.get("/css/app.css")):
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache"


def test_the_policy_is_the_one_nginx_sends() -> None:
    conf = (ROOT / "nginx.conf").read_text()
    default = re.search(r'map \$uri \$camvault_csp \{\s*default "([^"]+)";', conf)
    assert default is not None and default.group(1) == CONTENT_SECURITY_POLICY


def test_no_inline_script_style_or_handler_in_the_page() -> None:
    html = (ROOT / "app" / "static" / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_scripts_never_parse_strings_as_html_or_code() -> None:
    # dom.js builds every node with createElement/textContent; these are the ways around that.
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    scripts = sorted((ROOT / "app" / "static" / "js").rglob("*.js"))
    assert scripts
    offenders = [f"{path.name}: {m.group(0)}" for path in scripts for m in forbidden.finditer(path.read_text())]
    assert offenders == []
