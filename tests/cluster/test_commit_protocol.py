"""The database transaction is the commit point: a worker killed (kill -9) between the Git write and the
catalog's commit, or between the commit and the ref move, leaves a sound vault whose branch serves only
what the catalog committed, and which `camvault reindex` finds equal to the catalog."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.cli import camvault_async
from tests.conftest import PASSWORD, Login, MakeUser, StartWorkers, sql
from tests.vault import git, upload_one


def clone(server_url: str, dest: Path) -> list[str]:
    """A real `git clone` over smart HTTP: the commits it got, newest first."""
    url = server_url.replace("http://", f"http://anna:{quote(PASSWORD)}@") + "/git/vault.git"
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(dest.parent), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "clone", "--quiet", url, str(dest)], check=True, capture_output=True, env=env)
    return git(dest, "rev-list", "HEAD").split()


async def _reached(marker: Path) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the write never reached {marker.name}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("point", ["before_commit", "before_ref_move"])
async def test_kill_9_during_a_write_leaves_git_and_the_catalog_agreeing(
    point: str,
    client: httpx.AsyncClient,
    make_user: MakeUser,
    login: Login,
    start_workers: StartWorkers,
    settings: Settings,
    db: AsyncSession,
    tmp_path: Path,
) -> None:
    await make_user("anna", Role.user)
    anna = await login("anna")
    first = await upload_one(client, anna, "jobs/first.nc", b"G0 X0\n")
    repo = settings.data_dir / "vault.git"

    [paused] = start_workers(1, test_write_pause=point, secret_key=settings.secret_key)
    async with httpx.AsyncClient(base_url=paused.url, timeout=120) as on_paused:
        files = [("files", ("second.nc", b"G0 X2\n", "text/plain"))]
        sent = asyncio.create_task(on_paused.post("/api/files", files=files, data={"folder": "jobs"}, headers=anna))
        await _reached(settings.data_dir / f"paused-{point}")
        paused.kill()
        try:
            answer = await sent
        except httpx.HTTPError:
            answer = None
        assert answer is None, (answer.status_code, answer.text)  # the worker died before it could answer

    git(repo, "fsck", "--strict", "--no-dangling")
    assert git(repo, "rev-parse", "main").strip() == first["head_commit"]  # the ref never moved before the commit
    committed = point == "before_ref_move"
    files_now = {p for (p,) in await sql(db, "SELECT path FROM files")}
    assert files_now == ({"jobs/first.nc", "jobs/second.nc"} if committed else {"jobs/first.nc"})

    # A new worker starts: it moves the ref to the catalog's commit first, then serves.
    [fresh] = start_workers(1, secret_key=settings.secret_key)
    catalog_head = (await sql(db, "SELECT commit_sha FROM vault_refs WHERE name = 'refs/heads/main'"))[0][0]
    assert git(repo, "rev-parse", "main").strip() == catalog_head
    cloned = clone(fresh.url, tmp_path / "clone")
    catalog_commits = {c for (c,) in await sql(db, "SELECT DISTINCT commit_sha FROM file_versions")}
    assert set(cloned) == catalog_commits  # the clone has exactly what the catalog committed
    assert len(cloned) == (2 if committed else 1)
    git(repo, "fsck", "--strict", "--no-dangling")
    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    assert "0 files added, 0 updated, 0 versions added" in done.stdout
