"""The real Debian `git` and `git-lfs` clients against a real camvault server process.

Git runs in a clean environment: HOME in the test's temp folder, no system config, no prompts, and
credentials from the `store` helper in that HOME (what the README tells users to set up). A missing
git-lfs skips these tests on a developer machine and fails them in CI (CAMVAULT_REQUIRE_GIT_LFS=1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from app.core.config import Settings
from app.models import Role
from tests.conftest import PASSWORD, MakeUser
from tests.live_server import LiveServer, server_env

USERS = {"boss": Role.admin, "alice": Role.user, "bob": Role.user, "vera": Role.viewer}


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None or (
        tool == "git-lfs" and subprocess.run(["git", "lfs", "version"], capture_output=True).returncode != 0
    ):
        message = f"{tool} not installed (apt-get install {package})"
        if os.environ.get("CAMVAULT_REQUIRE_GIT_LFS"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class GitClient:
    """`git` as one person on one machine: their own HOME, config and stored credentials."""

    home: Path
    server: LiveServer

    @property
    def remote(self) -> str:
        return f"{self.server.url}/git/vault.git"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_"))}
        env.update(
            {
                "HOME": str(self.home),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_ASKPASS": "",
                "SSH_ASKPASS": "",
                "LC_ALL": "C",
            }
        )
        return env

    def run(
        self, *args: str, cwd: Path | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["git", *args], cwd=cwd or self.home, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def login(self, username: str, secret: str) -> None:
        """What `git config --global credential.helper store` and a first prompt would leave behind."""
        parts = urlsplit(self.server.url)
        line = f"{parts.scheme}://{quote(username, safe='')}:{quote(secret, safe='')}@{parts.netloc}\n"
        (self.home / ".git-credentials").write_text(line)

    def clone(self, name: str = "vault", *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("clone", self.remote, name, check=check)


@pytest.fixture
def git_lfs() -> None:
    _require("git", "git")
    _require("git-lfs", "git-lfs")


@pytest.fixture
async def users(make_user: MakeUser) -> dict[str, int]:
    return {name: (await make_user(name, role)).id for name, role in USERS.items()}


@pytest.fixture
def server(
    git_lfs: None, users: dict[str, int], database_url: str, settings: Settings, tmp_path: Path
) -> Iterator[LiveServer]:
    env = server_env(database_url, settings.data_dir, secret_key=settings.secret_key, edit_cooldown_seconds=0)
    live = LiveServer(env, tmp_path / "server").start()
    try:
        yield live
    finally:
        live.stop()


GitAs = Callable[..., GitClient]


@pytest.fixture
def git_as(server: LiveServer, tmp_path: Path) -> Iterator[GitAs]:
    """`git_as("alice")`: a git user with their own HOME whose stored credentials are alice's password
    (or, `git_as("alice", token)`, an access token)."""
    made: list[GitClient] = []

    def make(username: str, secret: str = PASSWORD) -> GitClient:
        home = tmp_path / f"home-{username}-{len(made)}"
        home.mkdir()
        client = GitClient(home, server)
        client.run("config", "--global", "user.name", username)
        client.run("config", "--global", "user.email", f"{username}@example.com")
        client.run("config", "--global", "credential.helper", "store")
        client.run("config", "--global", "init.defaultBranch", "main")
        client.login(username, secret)
        made.append(client)
        return client

    yield make


@contextmanager
def api(server: LiveServer, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """The web API as `username` (a bearer token from the JSON login)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/api/auth/token", json={"login": username, "password": password})
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield client
