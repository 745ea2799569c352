from __future__ import annotations

import os
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app
from tests.cli import NO_BACKGROUND_SWEEP, camvault_async
from tests.conftest import Login, MakeUser, sql
from tests.vault import git, upload_one


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=NO_BACKGROUND_SWEEP)


async def test_create_user_reads_the_password_from_stdin(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, db: AsyncSession
) -> None:
    done = await camvault_async(settings, "create-user", "chief", "--role", "admin", stdin="a very long password\n")
    assert done.returncode == 0, done.stderr
    r = await client.post("/api/auth/token", json={"login": "chief", "password": "a very long password"})
    assert r.status_code == 200
    assert r.json()["user"]["role"] == "admin"
    assert (await sql(db, "SELECT action, target FROM audit_events"))[0] == ("user.created", "chief")
    again = await camvault_async(settings, "create-user", "CHIEF", stdin="a very long password\n")
    assert again.returncode == 1 and "already taken" in again.stderr
    short = await camvault_async(settings, "create-user", "shorty", stdin="short\n")
    assert short.returncode == 2


async def test_first_admin_comes_from_the_environment_once(settings: Settings, db: AsyncSession) -> None:
    configured = settings.model_copy(
        update={"first_admin_username": "root", "first_admin_password": "first admin password"}
    )
    for _ in range(2):  # a restart must not create a second admin or fail
        app = create_app(configured)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                r = await c.post("/api/auth/token", json={"login": "root", "password": "first admin password"})
                assert r.status_code == 200
                assert r.json()["user"]["role"] == "admin"
    assert await sql(db, "SELECT username, role::text FROM users") == [("root", "admin")]


async def test_maintain_packs_and_checks_the_vault(
    client: httpx.AsyncClient, settings: Settings, make_user: MakeUser, login: Login
) -> None:
    await make_user("anna")
    headers = await login("anna")
    for i in range(3):
        await upload_one(client, headers, f"p{i}.nc", f"G0 X{i}\n".encode())
    repo = settings.data_dir / "vault.git"
    assert git(repo, "count-objects", "-v").count("packs: 0") == 1
    done = await camvault_async(settings, "maintain")
    assert done.returncode == 0, done.stderr
    stats = dict(line.split(": ") for line in git(repo, "count-objects", "-v").splitlines())
    assert stats["count"] == "0" and stats["packs"] == "1"  # everything reachable is now in one pack
    for i in range(3):
        assert (await client.get(f"/api/files/by-path?path=p{i}.nc", headers=headers)).status_code == 200
        assert git(repo, "cat-file", "-p", f"main:p{i}.nc") == f"G0 X{i}\n"


async def test_doctor_exits_0_on_a_clean_installation_and_1_with_what_to_fix(
    client: httpx.AsyncClient, settings: Settings, make_user: MakeUser, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIN_FREE_DISK_BYTES", "0")  # this machine's free space is not under test here
    await make_user("anna")
    await upload_one(client, await login("anna"), "p1.nc", b"G0 X1\n")
    clean = await camvault_async(settings, "doctor")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # Its own report and nothing else: no log lines (the command configures no logging, as in a terminal).
    assert clean.stdout.startswith("camvault doctor: "), clean.stdout
    assert clean.stdout.splitlines()[-1] == "no problems found"
    for name in ("database", "schema", "roles", "git", "catalog", "names", "locks", "disk", "settings"):
        assert any(line.split()[:2] == ["ok", name] for line in clean.stdout.splitlines()), (name, clean.stdout)

    lock = settings.data_dir / "vault.git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    os.utime(lock, (time.time() - 300, time.time() - 300))
    broken = await camvault_async(settings, "doctor")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    lines = broken.stdout.splitlines()
    problem = next(i for i, line in enumerate(lines) if line.split()[:3] == ["PROBLEM", "ref", "lock"])
    assert lines[problem + 1].strip().startswith("fix: make sure no camvault or git process is writing")
    assert lines[-1] == "1 problem found"
