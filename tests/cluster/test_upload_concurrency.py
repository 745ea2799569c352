"""Many uploads at once through two worker processes: no commit, catalog row or audit row is lost."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.live_server import LiveServer
from tests.vault import git, upload

UPLOADS = 100


async def test_hundred_concurrent_uploads_on_two_workers_lose_nothing(
    workers: list[LiveServer], make_user: MakeUser, login: Login, db: AsyncSession, settings: Settings
) -> None:
    await make_user("anna", Role.user)
    headers = await login("anna")
    limits = httpx.Limits(max_connections=UPLOADS)
    async with (
        httpx.AsyncClient(base_url=workers[0].url, limits=limits, timeout=60) as on_a,
        httpx.AsyncClient(base_url=workers[1].url, limits=limits, timeout=60) as on_b,
    ):
        results = await asyncio.gather(
            *(
                upload(on_a if i % 2 else on_b, headers, {f"p{i:03d}.nc": f"G0 X{i}\n".encode()}, folder="batch")
                for i in range(UPLOADS)
            )
        )
    assert [r.status_code for r in results] == [201] * UPLOADS, [r.text for r in results if r.status_code != 201]

    repo = settings.data_dir / "vault.git"
    commits = git(repo, "rev-list", "main").split()
    assert len(commits) == UPLOADS
    # Linear: every commit has at most one parent, and first-parent history is the whole history.
    assert git(repo, "rev-list", "--min-parents=2", "main").strip() == ""
    assert git(repo, "rev-list", "--first-parent", "--count", "main").strip() == str(UPLOADS)
    subprocess_ok = git(repo, "fsck", "--no-dangling", "--no-progress")  # raises on a damaged repository
    assert "error" not in subprocess_ok.lower()
    tree = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    assert sorted(tree) == [f"batch/p{i:03d}.nc" for i in range(UPLOADS)]

    assert await sql(db, "SELECT count(*) FROM files") == [(UPLOADS,)]
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(UPLOADS,)]
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'file.uploaded'") == [(UPLOADS,)]
    catalog_commits = {c for (c,) in await sql(db, "SELECT commit_sha FROM file_versions")}
    assert catalog_commits == set(commits)
