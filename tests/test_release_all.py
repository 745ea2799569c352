"""`camvault release-all`: adopt an existing library as released, in one audited step, through LifecycleService."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.cli import NO_BACKGROUND_SWEEP, camvault_async
from tests.conftest import Login, MakeUser, sql
from tests.vault import git, transition, upload, upload_one


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=NO_BACKGROUND_SWEEP)


async def test_release_all_adopts_a_folder_in_one_audited_step(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, db: AsyncSession, settings: Settings
) -> None:
    await make_user("anna", Role.user)
    await make_user("boss", Role.admin)
    await make_user("olaf", Role.viewer)
    anna, olaf = await login("anna"), await login("olaf")
    r = await upload(client, anna, {"op10.nc": b"10\n", "op20.nc": b"20\n", "sub/op30.nc": b"30\n"}, folder="cells")
    assert r.status_code == 201, r.text
    in_review = next(f for f in r.json()["files"] if f["path"] == "cells/op20.nc")
    assert (await transition(client, anna, in_review["id"], "submit")).status_code == 200
    await upload_one(client, anna, "elsewhere.nc", b"not in the folder\n")

    done = await camvault_async(settings, "release-all", "--folder", "Cells", "--revision", "c", "--approver", "boss")
    assert done.returncode == 0, done.stderr
    assert "released 2 files in 'Cells' and below as revision C, approved by boss" in done.stdout
    assert "skipped 1 in review" in done.stdout

    floor = (await client.get("/api/files", headers=olaf)).json()["items"]
    assert [(f["path"], f["revision"]["label"]) for f in floor] == [("cells/op10.nc", "C"), ("cells/sub/op30.nc", "C")]
    audit = await sql(
        db, "SELECT action, actor_name, target, details FROM audit_events WHERE action LIKE 'lifecycle.a%'"
    )
    assert audit == [
        (
            "lifecycle.adopted",
            "boss",
            "Cells",
            {
                "folder": "Cells",
                "revision": "C",
                "files": 2,
                "skipped": {"in_review": 1},
                "commit": audit[0][3]["commit"],
            },
        )  # type: ignore[index]
    ]
    repo = settings.data_dir / "vault.git"
    message = git(repo, "log", "-1", "--format=%an|%B", "released")
    assert message.startswith("boss|Adopt 2 files as released revision C")
    assert "Camvault-Action: adopt" in message and "Camvault-Revision: C" in message
    assert git(repo, "ls-tree", "-r", "--name-only", "released").split() == ["cells/op10.nc", "cells/sub/op30.nc"]

    # Again: nothing left to adopt there; released files are never released twice this way.
    again = await camvault_async(settings, "release-all", "--folder", "cells", "--approver", "boss")
    assert "released 0 files" in again.stdout and "2 released" in again.stdout


async def test_release_all_refuses_a_non_approver_and_a_label_the_scheme_never_gives(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, db: AsyncSession, settings: Settings
) -> None:
    await make_user("anna", Role.user)
    await upload_one(client, await login("anna"), "op10.nc", b"10\n")
    refused = await camvault_async(settings, "release-all", "--approver", "anna")
    assert refused.returncode == 1 and "Only approvers" in refused.stderr
    unknown = await camvault_async(settings, "release-all", "--approver", "nobody")
    assert unknown.returncode == 1 and "No user 'nobody'" in unknown.stderr
    await make_user("boss", Role.admin)
    bad = await camvault_async(settings, "release-all", "--approver", "boss", "--revision", "I")
    assert bad.returncode == 1 and "never used" in bad.stderr
    assert await sql(db, "SELECT count(*) FROM file_revisions") == [(0,)]
    assert await sql(db, "SELECT state FROM files") == [("wip",)]
