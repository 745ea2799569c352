"""`camvault doctor` on prepared installations: a clean one passes, and each problem it claims to find is found.

Each problem is made the way it happens for real (bytes of an object overwritten on disk, rows written straight
into the catalog, a user deactivated while holding a lock, a stale ref lock left by a crash) on a real database and
a real Git repository; the CLI's exit status is checked in tests/test_cli.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import create_engine
from app.models import Role
from app.services.doctor import Check, DoctorService
from app.storage.git_store import GitStore
from tests.conftest import Login, MakeUser
from tests.db import create_database, drop_database
from tests.vault import git, new_version, upload_one


@pytest.fixture
async def installation(
    app: FastAPI, client: httpx.AsyncClient, make_user: MakeUser, login: Login
) -> AsyncIterator[dict[str, dict[str, str]]]:
    """Users and files, as any shop's vault holds them."""
    await make_user("boss", Role.admin)
    await make_user("anna", Role.user)
    boss, anna = await login("boss"), await login("anna")
    op10 = await upload_one(client, anna, "jobs/1042/op10.nc", b"G0 X0\n")
    await new_version(client, anna, op10["id"], b"G0 X0\nG1 X10 F200\n")
    await upload_one(client, anna, "fixtures/vise.step", b"solid vise\n")
    yield {"boss": boss, "anna": anna}


async def _doctor(settings: Settings, **overrides: object) -> dict[str, Check]:
    settings = settings.model_copy(update={"min_free_disk_bytes": 0, **overrides})
    engine = create_engine(settings.database_url or "", pool_size=1)
    try:
        checks = await DoctorService(settings, engine, GitStore(settings.data_dir / "vault.git")).run()
    finally:
        await engine.dispose()
    return {check.name: check for check in checks}


def _problems(checks: dict[str, Check]) -> set[str]:
    return {name for name, check in checks.items() if not check.ok}


async def test_a_clean_installation_passes(installation: dict[str, dict[str, str]], settings: Settings) -> None:
    checks = await _doctor(settings)
    assert _problems(checks) == set(), checks
    assert set(checks) == {
        "database",
        "schema",
        "roles",
        "ref lock",
        "git",
        "catalog",
        "facts",
        "names",
        "locks",
        "disk",
        "settings",
    }
    assert checks["catalog"].summary == "the catalog equals Git"
    assert not checks["facts"].warning, checks["facts"]
    assert checks["names"].summary == "all 2 live paths follow the current name rules"


async def test_a_corrupted_git_object(installation: dict[str, dict[str, str]], settings: Settings) -> None:
    repo = settings.data_dir / "vault.git"
    blob = git(repo, "rev-parse", "main:jobs/1042/op10.nc").strip()
    loose = repo / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not a zlib stream at all")
    checks = await _doctor(settings)
    assert _problems(checks) == {"git"}
    assert "git fsck finds problems" in checks["git"].summary
    assert "restore the vault" in (checks["git"].fix or "")


async def test_a_catalog_row_git_lacks_and_a_commit_the_catalog_lacks(
    installation: dict[str, dict[str, str]], settings: Settings, db: AsyncSession
) -> None:
    # A version whose commit is not in Git (as if the vault were restored from an older backup than the database).
    await db.execute(
        text(
            "INSERT INTO file_versions (file_id, version, path, commit_sha, blob_sha, size, author_name, created_at)"
            " SELECT id, 2, path, repeat('ab', 20), repeat('cd', 20), 3, 'anna', now() FROM files WHERE path = :p"
        ),
        {"p": "fixtures/vise.step"},
    )
    # And a version Git has that the catalog lost: what `camvault reindex` would add back.
    await db.execute(
        text("DELETE FROM file_versions WHERE version = 2 AND file_id = (SELECT id FROM files WHERE path = :p)"),
        {"p": "jobs/1042/op10.nc"},
    )
    await db.commit()
    before = (await db.execute(text("SELECT count(*) FROM file_versions"))).scalar_one()
    await db.rollback()

    checks = await _doctor(settings)
    assert _problems(checks) == {"catalog"}
    catalog = checks["catalog"]
    # (The row Git lacks is a v2 the file row does not show, so the dry run also "updates" that file's version.)
    assert "would add 0 files" in catalog.summary and "add 1 versions" in catalog.summary
    assert "1 catalog versions name a commit or content Git does not have" in catalog.summary
    assert catalog.details == [f"fixtures/vise.step v2: commit {'ab' * 6}, content {'cd' * 6}"]
    # A dry run: nothing was written, not even the reindex's audit row.
    assert (await db.execute(text("SELECT count(*) FROM file_versions"))).scalar_one() == before
    assert (await db.execute(text("SELECT count(*) FROM audit_events WHERE action = 'vault.reindexed'"))).scalar() == 0


async def test_names_that_break_the_current_rules(
    installation: dict[str, dict[str, str]], settings: Settings, db: AsyncSession
) -> None:
    # Written straight into the catalog, as rows from before a rule existed would be.
    for path in ("jobs/ op20.nc", "jobs/.git/op30.nc"):
        await db.execute(
            text(
                "INSERT INTO files (path, path_key, sort_key, size, blob_sha, head_commit, version) "
                "VALUES (:p, :k, :k, 0, '', '', 1)"
            ),
            {"p": path, "k": path.lower()},
        )
    await db.commit()
    checks = await _doctor(settings)
    assert _problems(checks) == {"names"}
    names = checks["names"]
    assert names.summary.startswith("2 of 4 live paths break the current name rules")
    assert names.details == [
        "'jobs/ op20.nc': Path component ' op20.nc' has leading or trailing whitespace",
        "'jobs/.git/op30.nc': Path component '.git' is not allowed: it is '.git' (the repository itself) to Git on "
        "Windows or macOS, and Git refuses to check it out",
    ]


async def test_a_lock_held_by_a_deactivated_user(
    installation: dict[str, dict[str, str]], client: httpx.AsyncClient, settings: Settings, db: AsyncSession
) -> None:
    anna, boss = installation["anna"], installation["boss"]
    file_id = (await client.get("/api/files/by-path", params={"path": "jobs/1042/op10.nc"}, headers=anna)).json()["id"]
    assert (await client.post(f"/api/files/{file_id}/checkout", json={"message": "op10"}, headers=anna)).is_success
    anna_id = (await db.execute(text("SELECT id FROM users WHERE username = 'anna'"))).scalar_one()
    await db.rollback()
    r = await client.patch(f"/api/admin/users/{anna_id}", json={"is_active": False}, headers=boss)
    assert r.status_code == 200, r.text
    checks = await _doctor(settings)
    assert _problems(checks) == {"locks"}
    assert checks["locks"].summary == "1 locks are held by deactivated users (anna)"
    assert checks["locks"].details == ["jobs/1042/op10.nc: anna"]
    assert f"POST /api/admin/users/{anna_id}/release-locks" in (checks["locks"].fix or "")


async def test_a_stale_ref_lock(installation: dict[str, dict[str, str]], settings: Settings) -> None:
    lock = settings.data_dir / "vault.git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    # A fresh one is a write in progress.
    assert "ref lock" not in _problems(await _doctor(settings))
    old = time.time() - 120
    os.utime(lock, (old, old))
    checks = await _doctor(settings)
    assert _problems(checks) == {"ref lock"}
    assert "delete" in (checks["ref lock"].fix or "") and str(lock) in (checks["ref lock"].fix or "")


async def test_low_disk_and_unsafe_production_settings(
    installation: dict[str, dict[str, str]], settings: Settings
) -> None:
    checks = await _doctor(settings, min_free_disk_bytes=2**62)
    assert _problems(checks) == {"disk"}
    # Outside production the risks are listed but are not problems.
    risky = {"env": "test", "allow_signup": True, "password_hash_cost": "low", "first_admin_password": "change-me-too"}
    listed = (await _doctor(settings, **risky))["settings"]
    assert listed.ok and len(listed.details) == 4
    checks = await _doctor(settings, **{**risky, "env": "production"})
    assert _problems(checks) == {"settings"}
    assert any("FIRST_ADMIN_PASSWORD is an example password" in line for line in checks["settings"].details)


async def test_the_app_connected_as_the_owner_and_an_unmigrated_database(
    installation: dict[str, dict[str, str]], settings: Settings, owner_database_url: str, server_url: str
) -> None:
    checks = await _doctor(settings, database_url=owner_database_url)
    assert _problems(checks) == {"roles"}
    assert "could disable the audit trigger" in checks["roles"].summary

    empty = await create_database(server_url, prefix="doc")
    try:
        checks = await _doctor(settings, database_url=empty)
        assert "schema" in _problems(checks) and checks["schema"].summary == "the database is not migrated"
        assert "catalog" not in checks  # nothing to compare against
    finally:
        await drop_database(empty)

    gone = await _doctor(settings, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert "database" in _problems(gone) and "cannot connect" in gone["database"].summary
