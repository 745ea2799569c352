"""`camvault reindex` rebuilds revisions, approvals and states from the released branch: equal rows.

And the released branch's Git ref follows the catalog like main's: a crash before its move is repaired
at the next sweep, and a branch the catalog has no row for is adopted.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from app.vault.refs import reconcile
from tests.cli import NO_BACKGROUND_SWEEP, camvault_async
from tests.conftest import Login, MakeUser, sql
from tests.vault import git, new_version, release, transition, upload_one

Headers = dict[str, str]

REVISION_COLUMNS = (
    "f.path, r.seq, r.label, r.version, r.blob_sha, r.size, r.commit_sha, r.action, r.released_at, r.released_by, "
    "r.released_by_name, r.approved_by"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**NO_BACKGROUND_SWEEP, "edit_cooldown_seconds": 0})


async def snapshot(db: AsyncSession) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    files = await sql(
        db,
        "SELECT f.path, f.state, f.version, r.label, f.deleted_at IS NOT NULL FROM files f "
        "LEFT JOIN file_revisions r ON r.id = f.revision_id ORDER BY f.path",
    )
    revisions = await sql(
        db, f"SELECT {REVISION_COLUMNS} FROM file_revisions r JOIN files f ON f.id = r.file_id ORDER BY f.path, r.seq"
    )
    return files, revisions


async def a_lifecycle_history(client: httpx.AsyncClient, anna: Headers, bob: Headers, boss: Headers) -> None:
    """Releases through reviews (one and several), rejects, obsolete, reinstate, delete, restore, adoption,
    a file left in review, and a revision whose content equals the one before (its commit changes no tree)."""
    op10 = await upload_one(client, anna, "jobs/op10.nc", b"10 v1\n")
    await release(client, anna, bob, op10["id"])
    await new_version(client, anna, op10["id"], b"10 v2\n")
    await release(client, anna, boss, op10["id"])
    await new_version(client, anna, op10["id"], b"10 v3 in work\n")

    op20 = await upload_one(client, anna, "jobs/op20.nc", b"20\n")
    await transition(client, anna, op20["id"], "submit")
    await transition(client, bob, op20["id"], "reject", "not yet")
    await release(client, anna, bob, op20["id"])
    await transition(client, bob, op20["id"], "obsolete", "replaced")
    await transition(client, boss, op20["id"], "reinstate", "back")

    op30 = await upload_one(client, anna, "jobs/op30.nc", b"30\n")
    await release(client, anna, bob, op30["id"])
    await transition(client, boss, op30["id"], "obsolete", "scrapped")

    for name, restore in (("op40.nc", False), ("op50.nc", True)):
        part = await upload_one(client, anna, f"jobs/{name}", name.encode())
        await release(client, anna, bob, part["id"])
        assert (await client.delete(f"/api/files/{part['id']}", headers=boss)).status_code == 200
        if restore:
            assert (await client.post(f"/api/files/{part['id']}/restore", headers=boss)).status_code == 200

    op60 = await upload_one(client, anna, "jobs/op60.nc", b"60\n")
    await transition(client, anna, op60["id"], "submit", "left in review")

    op80 = await upload_one(client, anna, "jobs/op80.nc", b"same\n")
    await release(client, anna, bob, op80["id"])
    await new_version(client, anna, op80["id"], b"other\n")
    await new_version(client, anna, op80["id"], b"same\n")  # version 3: the content of revision A again
    assert (await release(client, anna, bob, op80["id"]))["released"] == "B"

    op90 = await upload_one(client, anna, "jobs/op90.nc", b"90\n")
    await release(client, anna, bob, op90["id"])
    moved = await client.post(f"/api/files/{op90['id']}/move", json={"path": "moved/op90.nc"}, headers=anna)
    assert moved.status_code == 200, moved.text

    r = await client.post(
        "/api/files",
        files=[("files", ("a.nc", b"a")), ("files", ("b.nc", b"b"))],
        data={"folder": "legacy"},
        headers=anna,
    )
    assert r.status_code == 201, r.text


@pytest.fixture
async def people(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> tuple[Headers, Headers, Headers]:
    await make_user("anna", Role.user)
    bob = await make_user("bob", Role.user)
    await make_user("boss", Role.admin)
    boss = await login("boss")
    assert (
        await client.patch(f"/api/admin/users/{bob.id}", json={"is_approver": True}, headers=boss)
    ).status_code == 200
    return await login("anna"), await login("bob"), boss


async def test_reindex_rebuilds_revisions_approvals_and_states_exactly(
    client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], db: AsyncSession, settings: Settings
) -> None:
    await a_lifecycle_history(client, *people)
    adopted = await camvault_async(
        settings, "release-all", "--folder", "legacy", "--revision", "C", "--approver", "boss"
    )
    assert adopted.returncode == 0, adopted.stderr
    before = await snapshot(db)
    states = {path: (state, label) for path, state, _, label, _ in before[0]}
    assert states == {
        "jobs/op10.nc": ("wip", "B"),
        "jobs/op20.nc": ("released", "A"),
        "jobs/op30.nc": ("obsolete", "A"),
        "jobs/op40.nc": ("released", "A"),
        "jobs/op50.nc": ("released", "A"),
        "jobs/op60.nc": ("in_review", None),
        "jobs/op80.nc": ("released", "B"),
        "moved/op90.nc": ("released", "A"),
        "legacy/a.nc": ("released", "C"),
        "legacy/b.nc": ("released", "C"),
    }
    assert len(before[1]) == 11
    assert before[1][1][:4] == ("jobs/op10.nc", 2, "B", 2) and before[1][1][-1] == ["boss"]

    # Lose every revision and state (and the catalog's row for the released branch).
    await db.execute(text("UPDATE files SET revision_id = NULL, state = 'wip'"))
    await db.execute(text("DELETE FROM file_revisions"))
    await db.execute(text("DELETE FROM vault_refs WHERE name = 'refs/heads/released'"))
    await db.commit()
    assert await snapshot(db) != before

    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    assert "11 revisions added" in done.stdout and "0 versions added" in done.stdout
    assert await snapshot(db) == before
    again = await camvault_async(settings, "reindex")
    assert "0 revisions added, 0 lifecycle states corrected" in again.stdout
    assert await snapshot(db) == before
    head = git(settings.data_dir / "vault.git", "rev-parse", "released").strip()
    assert await sql(db, "SELECT commit_sha FROM vault_refs WHERE name = 'refs/heads/released'") == [(head,)]
    reindexed = await sql(db, "SELECT details->>'revisions_added' FROM audit_events WHERE action = 'vault.reindexed'")
    assert reindexed == [("11",)]


async def test_reindex_completes_a_lost_latest_revision(
    client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], db: AsyncSession, settings: Settings
) -> None:
    anna, bob, boss = people
    part = await upload_one(client, anna, "x/op10.nc", b"1\n")
    await release(client, anna, bob, part["id"])
    await new_version(client, anna, part["id"], b"2\n")
    await release(client, anna, boss, part["id"])
    before = await snapshot(db)
    # The catalog lost revision B: the file points at A again and says released (its head is not A).
    await db.execute(
        text("UPDATE files SET revision_id = (SELECT id FROM file_revisions WHERE label = 'A'), state = 'wip'")
    )
    await db.execute(text("DELETE FROM file_revisions WHERE label = 'B'"))
    await db.commit()
    done = await camvault_async(settings, "reindex")
    assert "1 revisions added, 1 lifecycle states corrected" in done.stdout, done.stdout
    assert await snapshot(db) == before


async def test_the_released_ref_follows_the_catalog(
    client: httpx.AsyncClient,
    people: tuple[Headers, Headers, Headers],
    db: AsyncSession,
    settings: Settings,
    app: FastAPI,
) -> None:
    anna, bob, _ = people
    repo = settings.data_dir / "vault.git"
    for name in ("a.nc", "b.nc"):
        part = await upload_one(client, anna, name, name.encode())
        await release(client, anna, bob, part["id"])
    catalog = git(repo, "rev-parse", "released").strip()
    # A crash between the commit and the ref move leaves the ref behind: the sweep moves it forward.
    git(repo, "update-ref", "refs/heads/released", "released~1")
    async with app.state.sessionmaker() as session:
        repairs = await reconcile(session, app.state.store)
    assert [(r.ref, r.how) for r in repairs] == [("refs/heads/released", "forward")]
    assert git(repo, "rev-parse", "released").strip() == catalog
    # A released branch the catalog has no row for (a restored vault) is adopted as it is.
    await db.execute(text("DELETE FROM vault_refs WHERE name = 'refs/heads/released'"))
    await db.commit()
    async with app.state.sessionmaker() as session:
        repairs = await reconcile(session, app.state.store)
    assert [(r.ref, r.how, r.catalog) for r in repairs] == [("refs/heads/released", "adopted", catalog)]
