"""The write pipeline's rules seen through the API: file/folder clashes, the instant a lock must be live, a full
disk, a stale ref lock, answers built from the write's own transaction."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app
from app.models import Role, User
from app.vault.refs import reconcile
from tests.conftest import Login, MakeUser, sql
from tests.vault import git, upload, upload_one

Admin = tuple[User, dict[str, str]]


def repo_of(settings: Settings) -> Path:
    return settings.data_dir / "vault.git"


def assert_vault_sound(settings: Settings) -> None:
    """git fsck --strict finds nothing, and the branch holds exactly the catalog's live files."""
    git(repo_of(settings), "fsck", "--strict", "--no-dangling")


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("anna", Role.user)
    return await login("anna")


@pytest.mark.parametrize(
    ("first", "second", "clash"),
    [
        ("clash.nc", "clash.nc/x.nc", "clash.nc"),
        ("clash.nc/x.nc", "clash.nc", "clash.nc/x.nc"),
        ("cf.nc", "CF.nc/y.nc", "cf.nc"),
        ("CF.nc/y.nc", "cf.nc", "CF.nc/y.nc"),
    ],
)
async def test_a_file_folder_clash_is_a_409_naming_the_path(
    client: httpx.AsyncClient,
    anna: dict[str, str],
    db: AsyncSession,
    settings: Settings,
    first: str,
    second: str,
    clash: str,
) -> None:
    await upload_one(client, anna, first, b"G0\n")
    r = await upload(client, anna, {second: b"G1\n"})
    assert r.status_code == 409, r.text
    assert repr(clash) in r.json()["detail"]
    assert await sql(db, "SELECT path FROM files") == [(first,)]
    assert git(repo_of(settings), "rev-list", "--count", "main").strip() == "1"
    assert_vault_sound(settings)


async def test_one_upload_cannot_make_a_path_both_file_and_folder(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession
) -> None:
    r = await upload(client, anna, {"g.nc": b"G0\n", "G.nc/h.nc": b"G1\n"})
    assert r.status_code == 409 and "g.nc" in r.json()["detail"]
    assert await sql(db, "SELECT count(*) FROM files") == [(0,)]


@pytest.fixture
async def short_locks(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app whose locks live two seconds (and whose sweeper stays out of the way)."""
    application = create_app(settings.model_copy(update={"lock_ttl_seconds": 2, "lock_sweep_seconds": 3600}))
    async with application.router.lifespan_context(application):
        yield application


async def _until_expired(db: AsyncSession, file_id: object) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = await sql(db, "SELECT expires_at <= now() FROM locks WHERE file_id = :f", f=file_id)
        if rows and rows[0][0]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the lock never expired")


@pytest.mark.parametrize("keep_locked", [False, True])
async def test_a_check_in_whose_body_ends_after_the_lock_expired_is_refused(
    short_locks: FastAPI, make_user: MakeUser, db: AsyncSession, keep_locked: bool
) -> None:
    await make_user("anna", Role.user)
    transport = httpx.ASGITransport(app=short_locks)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        token = (await c.post("/api/auth/token", json={"login": "anna", "password": "correct horse battery"})).json()
        anna = {"Authorization": f"Bearer {token['access_token']}"}
        part = await upload_one(c, anna, "op.nc", b"G0\n")
        assert (await c.post(f"/api/files/{part['id']}/checkout", json={}, headers=anna)).status_code == 200
        boundary = "b0undary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="keep_locked"\r\n\r\n{str(keep_locked).lower()}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="op.nc"\r\n\r\nG1 late\n'
        ).encode()

        async def body() -> AsyncIterator[bytes]:
            yield head  # the check-in starts while the lock is live...
            await _until_expired(db, part["id"])  # ...and its body ends after the lock expired
            yield f"\r\n--{boundary}--\r\n".encode()

        r = await c.post(
            f"/api/files/{part['id']}/checkin",
            content=body(),
            headers=anna | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert r.status_code == 409, r.text
        assert "expired" in r.json()["detail"]
        # Renew and release are decided at the same instant and refused alike.
        assert (await c.post(f"/api/files/{part['id']}/renew", headers=anna)).status_code == 409
        assert (await c.post(f"/api/files/{part['id']}/release", headers=anna)).status_code == 409
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(1,)]


async def test_a_check_out_racing_a_force_release_answers_what_it_committed(
    client: httpx.AsyncClient, anna: dict[str, str], admin: Admin, db: AsyncSession, app: FastAPI
) -> None:
    part = await upload_one(client, anna, "race.nc", b"G0\n")
    for _ in range(5):
        async with app.state.sessionmaker() as blocker:
            # Hold the file row, queue a check-out and then a force-release behind it, let go.
            await blocker.execute(text("SELECT 1 FROM files WHERE id = :f FOR UPDATE"), {"f": part["id"]})
            checkout = asyncio.create_task(
                client.post(f"/api/files/{part['id']}/checkout", json={"message": "m"}, headers=anna)
            )
            await asyncio.sleep(0.05)  # not a wait for a result: gives the check-out its place in the queue
            forced = asyncio.create_task(client.post(f"/api/files/{part['id']}/force-release", headers=admin[1]))
            await asyncio.sleep(0.05)
            await blocker.rollback()
        out, force = await checkout, await forced
        assert out.status_code == 200, out.text  # never a 500 after the commit
        assert out.json()["lock"]["holder"] == "anna"
        assert force.status_code in (200, 409), force.text
        await client.post(f"/api/files/{part['id']}/release", headers=anna)
    rows = await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'lock.checkout'")
    assert rows == [(5,)]


async def test_a_stale_ref_lock_is_reported_never_hangs_a_write_and_is_cleared(
    client: httpx.AsyncClient, anna: dict[str, str], settings: Settings, app: FastAPI, db: AsyncSession
) -> None:
    first = await upload_one(client, anna, "a.nc", b"G0\n")
    lock = repo_of(settings) / "refs" / "heads" / "main.lock"
    lock.write_text(str(first["head_commit"]) + "\n")
    old = time.time() - 120  # as a power cut during a ref update would leave it
    os.utime(lock, (old, old))
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and "main.lock" in ready.json()["checks"]["git_refs"]

    started = time.monotonic()
    second = await upload(client, anna, {"b.nc": b"G1\n"})
    assert second.status_code == 201, second.text  # committed: the catalog is the commit point
    assert time.monotonic() - started < 20  # not Git's lock timeout times its retries (57 s before)
    assert git(repo_of(settings), "rev-parse", "main").strip() == first["head_commit"]  # the ref waits

    async with app.state.sessionmaker() as session:
        repairs = await reconcile(session, app.state.store)  # what the sweep and start-up run
    assert [r.how for r in repairs] == ["forward"]
    assert not lock.exists()
    assert git(repo_of(settings), "rev-parse", "main").strip() == second.json()["commit"]
    assert (await client.get("/readyz")).status_code == 200
    assert_vault_sound(settings)


@contextmanager
def full_disk(settings: Settings) -> Iterator[Path]:
    """The vault's object store on a 512 KiB filesystem (tmpfs; the tests run as root)."""
    objects = repo_of(settings) / "objects"
    saved = settings.data_dir / "objects-saved"
    subprocess.run(["cp", "-a", str(objects), str(saved)], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(objects)], check=True)
    subprocess.run(["cp", "-a", f"{saved}/.", str(objects)], check=True)
    try:
        yield objects
    finally:
        subprocess.run(["umount", str(objects)], check=True)


async def test_a_full_disk_is_a_507_and_changes_nothing(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession, settings: Settings
) -> None:
    with full_disk(settings) as objects:
        for size in (3 << 20, 600 << 10):  # a large file (written by camvault) and a small one (libgit2)
            r = await upload(client, anna, {f"big{size}.stl": os.urandom(size)})
            assert r.status_code == 507, r.text
            assert "disk is full" in r.json()["detail"]
            assert not list(objects.glob("tmp_obj_*"))  # the half-written object is gone
    assert await sql(db, "SELECT count(*) FROM files") == [(0,)]
    assert git(repo_of(settings), "for-each-ref").strip() == ""
    # With room again, writes work.
    assert (await upload(client, anna, {"small.nc": b"G0\n"})).status_code == 201
    assert_vault_sound(settings)
