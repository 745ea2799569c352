"""Browser tests: Debian's Chromium driven by Playwright against real camvault worker processes.

Every test gets its own database (a copy of the migrated template), its own DATA_DIR and two
worker processes, so "A on one worker, B on another" is the real cross-process path. The
browser is never downloaded: Playwright launches /usr/bin/chromium (`.ci/run` installs it).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Coroutine, Iterator, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from app.models import Role
from app.schemas.user import UserCreate
from tests.db import DatabaseSupply, create_users
from tests.live_server import LiveServer, live_servers, server_env

CHROMIUM = Path(os.environ.get("CAMVAULT_CHROMIUM", "/usr/bin/chromium"))
# As root in a container Chromium needs --no-sandbox; the network flags stop it calling home,
# which this machine's closed network would refuse noisily.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
PASSWORD = "correct horse battery"
T = TypeVar("T")
USERS = {"boss": Role.admin, "alice": Role.user, "bob": Role.user, "vera": Role.viewer}

# "Failed to load resource" is Chromium reporting a 4xx the UI asked for on purpose (a refused
# check-out, a rejected upload), and a failed WebSocket connection is a worker a test stopped;
# anything else on the console is a defect (CSP violations too).
IGNORED_CONSOLE = re.compile(r"Failed to load resource|WebSocket connection to .* failed")

expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not installed (apt-get install chromium)"
        if os.environ.get("CAMVAULT_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, chromium_sandbox=False)
        yield launched
        launched.close()


def run_async(coroutine: Coroutine[object, object, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API keeps an event loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Stack:
    """Two workers on one database; `api(user)` is an httpx client logged in as that user."""

    workers: list[LiveServer]
    clients: dict[str, httpx.Client] = field(default_factory=dict)
    database_url: str = ""  # the stack's database, for tests that change rows the API cannot

    @property
    def a(self) -> LiveServer:
        return self.workers[0]

    @property
    def b(self) -> LiveServer:
        return self.workers[1]

    def api(self, username: str) -> httpx.Client:
        if username not in self.clients:
            client = httpx.Client(base_url=self.a.url, timeout=30)
            r = client.post("/api/auth/token", json={"login": username, "password": PASSWORD})
            r.raise_for_status()
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            self.clients[username] = client
        return self.clients[username]

    def upload(self, path: str, content: bytes, username: str = "boss") -> dict:
        folder, _, name = path.rpartition("/")
        r = self.api(username).post("/api/files", data={"folder": folder}, files={"files": (name, content)})
        assert r.status_code == 201, r.text
        return dict(r.json()["files"][0])

    def release(self, file_id: int) -> None:
        """Put a file's head on the shop floor: alice submits it, boss approves (the viewer sees it then)."""
        assert self.api("alice").post(f"/api/files/{file_id}/submit", json={}).status_code == 200
        assert self.api("boss").post(f"/api/files/{file_id}/approve", json={}).status_code == 200


@pytest.fixture
def stack(database_supply: DatabaseSupply, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    settings = getattr(request, "param", {})
    database_url = database_supply.take_blocking()
    try:
        users = (UserCreate(username=u, password=PASSWORD, role=r, full_name=u.title()) for u, r in USERS.items())
        run_async(create_users(database_url, users))
        env = server_env(database_url, tmp_path / "data", **settings)
        with live_servers(env, tmp_path / "servers", count=2) as workers:
            stack = Stack(workers, database_url=database_url)
            yield stack
            for client in stack.clients.values():
                client.close()
    finally:
        database_supply.give_back(database_url)


@dataclass
class Session:
    """One person at one browser: their own context (cookies, sessionStorage) and page."""

    context: BrowserContext
    page: Page
    errors: list[str]


OpenSession = Callable[..., Session]


@pytest.fixture
def open_session(browser: Browser, request: pytest.FixtureRequest) -> Iterator[OpenSession]:
    sessions: list[tuple[str, Session]] = []

    def open_(server: LiveServer, username: str | None = None, *, width: int = 1280, height: int = 800) -> Session:
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                errors.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and not IGNORED_CONSOLE.search(msg.text)
                else None
            ),
        )
        # Any alert() means markup from data ran as script.
        page.on("dialog", lambda dialog: errors.append(f"unexpected dialog: {dialog.message}"))
        page.goto(server.url + "/")
        session = Session(context, page, errors)
        sessions.append((username or "anonymous", session))
        if username:
            log_in(page, username)
        return session

    yield open_
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for index, (username, session) in enumerate(sessions):
        name = f"{request.node.name}-{index}-{username}.png"
        if not session.page.is_closed():  # a test may close a browser itself (someone leaving)
            session.page.screenshot(path=str(ARTIFACTS / name), full_page=True)
            session.context.close()
    errors = [f"{username}: {e}" for username, s in sessions for e in s.errors]
    assert not errors, "\n".join(errors)


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def row(page: Page, path: str) -> Locator:
    return page.locator(f'tr[data-path="{path}"]')


def wait_until_held(page: Page, held: Sized, what: str) -> None:
    """Let the page run until a route handler has kept a request back in `held` (a search box or a live reload
    sends it after a short wait of its own); fail naming `what` after 5 s."""
    for _ in range(250):
        if held:
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"{what} was never sent")


def audit_rows(page: Page, *, who: str = "", action: str = "", target: str = "") -> Locator:
    """Open the admin's audit page, filter it (an empty filter is cleared) and return its rows, newest first."""
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Who").fill(who)
    page.get_by_label("Action").fill(action)
    page.get_by_label("Target").fill(target)
    page.get_by_role("button", name="Filter").click()
    return page.locator("table.audit tbody tr")
