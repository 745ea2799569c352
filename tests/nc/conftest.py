"""The browser's NC modules run in Debian's Chromium, served straight from app/static through Playwright's request
routing (no server: these tests need no database). /corpus/ serves tests/nc/corpus."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.e2e.conftest import browser  # the suite's Chromium (skips or fails without it, as there)

__all__ = ["browser"]

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "app" / "static"
CORPUS = Path(__file__).parent / "corpus"
ORIGIN = "http://camvault.test"


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN).split("?")[0]
    if path == "/":
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>nc</title>")
        return
    base, rest = (CORPUS, path.removeprefix("/corpus/")) if path.startswith("/corpus/") else (STATIC, path[1:])
    file = (base / rest).resolve()
    if not file.is_file() or base not in file.parents:
        route.fulfill(status=404, body="not found")
        return
    kind = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0] or "text/plain"
    route.fulfill(status=200, content_type=kind, body=file.read_bytes())


@pytest.fixture(scope="module")
def nc_page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/")
    yield page
    page.close()
    assert not errors, errors
