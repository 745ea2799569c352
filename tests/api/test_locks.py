from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app
from app.models import Role, User
from app.repositories.locks import LockRepository
from app.services.locks import LockService
from tests.conftest import Login, MakeUser, sql
from tests.db import to_asyncpg_dsn
from tests.vault import check_in, git, upload_one

Admin = tuple[User, dict[str, str]]


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("anna", Role.user)
    return await login("anna")


@pytest.fixture
async def ben(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("ben", Role.user)
    return await login("ben")


@pytest.fixture
async def part(client: httpx.AsyncClient, anna: dict[str, str]) -> dict[str, object]:
    return await upload_one(client, anna, "jobs/op10.nc", b"G0 X0\n")


def url(part: dict[str, object], action: str) -> str:
    return f"/api/files/{part['id']}/{action}"


async def test_check_out_shows_in_metadata_listing_and_lock_list(
    client: httpx.AsyncClient, anna: dict[str, str], part: dict[str, object], db: AsyncSession
) -> None:
    r = await client.post(url(part, "checkout"), json={"message": "changing feeds"}, headers=anna)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["head_version"] == 1
    assert body["lock"]["holder"] == "anna" and body["lock"]["message"] == "changing feeds"
    assert body["lock"]["until"] is not None
    meta = (await client.get(f"/api/files/{part['id']}", headers=anna)).json()
    assert meta["lock"]["holder"] == "anna"
    listing = (await client.get("/api/files", params={"status": "checked_out"}, headers=anna)).json()["items"]
    assert [f["lock"]["holder"] for f in listing] == ["anna"]
    assert (await client.get("/api/files", params={"status": "available"}, headers=anna)).json()["items"] == []
    assert len((await client.get("/api/files", params={"holder": "ANNA"}, headers=anna)).json()["items"]) == 1
    locks = (await client.get("/api/locks", headers=anna)).json()
    assert [(lk["path"], lk["holder"]) for lk in locks] == [("jobs/op10.nc", "anna")]
    assert (await client.get("/api/locks", params={"holder": "ben"}, headers=anna)).json() == []
    assert await sql(db, "SELECT action, actor_name FROM audit_events WHERE action='lock.checkout'") == [
        ("lock.checkout", "anna")
    ]


async def test_a_held_lock_is_409_naming_holder_since_until(
    client: httpx.AsyncClient, anna: dict[str, str], ben: dict[str, str], part: dict[str, object]
) -> None:
    await client.post(url(part, "checkout"), json={"message": "mine"}, headers=anna)
    r = await client.post(url(part, "checkout"), json={"message": "no, mine"}, headers=ben)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail["holder"] == "anna" and detail["since"] and detail["until"]
    again = await client.post(url(part, "checkout"), json={}, headers=anna)
    assert again.status_code == 409  # already yours: nothing changes


async def test_viewers_get_403_on_every_lock_action(
    client: httpx.AsyncClient, part: dict[str, object], make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    await make_user("vic", Role.viewer)
    viewer = await login("vic")
    for action in ["checkout", "checkin", "renew", "release", "force-release"]:
        r = await client.post(url(part, action), json={}, headers=viewer)
        assert r.status_code == 403, action
    assert (await client.get("/api/locks", headers=viewer)).status_code == 200
    assert await sql(db, "SELECT count(*) FROM locks") == [(0,)]


async def test_check_in_with_new_content_makes_a_version_and_cooldown(
    client: httpx.AsyncClient,
    anna: dict[str, str],
    ben: dict[str, str],
    part: dict[str, object],
    db: AsyncSession,
    settings: Settings,
    app: FastAPI,
) -> None:
    await client.post(url(part, "checkout"), json={"message": "x"}, headers=anna)
    r = await check_in(client, anna, part["id"], b"G0 X5\n", message="moved origin")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["new_version"], body["head_version"], body["kept_lock"]) == (True, 2, False)
    assert body["file"]["lock"] is None and body["file"]["cooldown_until"]
    got = await client.get(url(part, "content"), headers=ben)
    assert got.content == b"G0 X5\n"
    # Cooldown: ben must wait, anna (who just checked in) may check out again.
    blocked = await client.post(url(part, "checkout"), json={}, headers=ben)
    assert blocked.status_code == 409
    assert 0 < int(blocked.headers["retry-after"]) <= settings.edit_cooldown_seconds
    assert "anna" in blocked.json()["detail"]
    assert (await client.post(url(part, "checkout"), json={}, headers=anna)).status_code == 200
    actions = await sql(
        db, "SELECT action FROM audit_events WHERE action LIKE 'lock.%' OR action LIKE 'file.version%' ORDER BY id"
    )
    assert actions == [("lock.checkout",), ("file.version_added",), ("lock.checkin",), ("lock.checkout",)]


async def test_cooldown_expires(
    app: FastAPI, client: httpx.AsyncClient, anna: dict[str, str], ben: dict[str, str], part: dict[str, object]
) -> None:
    # 3 s, so that on a loaded machine ben's first try still falls inside the cooldown.
    app.state.settings = app.state.settings.model_copy(update={"edit_cooldown_seconds": 3})
    await client.post(url(part, "checkout"), json={}, headers=anna)
    await check_in(client, anna, part["id"], b"changed\n")
    assert (await client.post(url(part, "checkout"), json={}, headers=ben)).status_code == 409
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        r = await client.post(url(part, "checkout"), json={}, headers=ben)
        if r.status_code == 200 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert r.status_code == 200


async def test_check_in_without_content_and_with_identical_content(
    client: httpx.AsyncClient, anna: dict[str, str], part: dict[str, object], db: AsyncSession, settings: Settings
) -> None:
    head = git(settings.data_dir / "vault.git", "rev-parse", "main")
    await client.post(url(part, "checkout"), json={}, headers=anna)
    plain = await client.post(url(part, "checkin"), headers=anna)
    assert plain.status_code == 200 and plain.json()["new_version"] is False
    await client.post(url(part, "checkout"), json={}, headers=anna)
    same = await check_in(client, anna, part["id"], b"G0 X0\n", message="no change")
    assert same.status_code == 200
    assert same.json()["new_version"] is False and same.json()["head_version"] == 1
    assert "identical" in same.json()["message"]
    assert git(settings.data_dir / "vault.git", "rev-parse", "main") == head
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(1,)]
    assert await sql(db, "SELECT cooldown_until FROM files") == [(None,)]


async def test_keep_locked_and_base_version(
    client: httpx.AsyncClient, anna: dict[str, str], ben: dict[str, str], part: dict[str, object]
) -> None:
    await client.post(url(part, "checkout"), json={}, headers=anna)
    kept = await check_in(client, anna, part["id"], b"v2\n", keep_locked=True, base_version=1)
    assert kept.status_code == 200
    assert kept.json()["kept_lock"] is True and kept.json()["file"]["lock"]["holder"] == "anna"
    stale = await check_in(client, anna, part["id"], b"v3 from an old copy\n", keep_locked=True, base_version=1)
    assert stale.status_code == 409
    assert "version 2" in stale.json()["detail"]
    ok = await check_in(client, anna, part["id"], b"v3\n", base_version=2)
    assert ok.status_code == 200 and ok.json()["head_version"] == 3
    bad = await check_in(client, ben, part["id"], b"x", base_version=3)
    assert bad.status_code == 409  # not held by anyone now


async def test_check_in_of_someone_elses_lock_is_403_and_unheld_is_409(
    client: httpx.AsyncClient, anna: dict[str, str], ben: dict[str, str], part: dict[str, object], db: AsyncSession
) -> None:
    assert (await check_in(client, anna, part["id"], b"x")).status_code == 409
    await client.post(url(part, "checkout"), json={}, headers=anna)
    r = await check_in(client, ben, part["id"], b"sneaky")
    assert r.status_code == 403 and r.json()["detail"]["holder"] == "anna"
    for action in ("release", "renew"):
        assert (await client.post(url(part, action), headers=ben)).status_code == 403
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(1,)]


async def test_force_released_holder_gets_409_on_check_in(
    client: httpx.AsyncClient,
    anna: dict[str, str],
    ben: dict[str, str],
    admin: Admin,
    part: dict[str, object],
    db: AsyncSession,
) -> None:
    _, boss = admin
    await client.post(url(part, "checkout"), json={"message": "long job"}, headers=anna)
    forced = await client.post(url(part, "force-release"), headers=boss)
    # The answer carries the file as it is now (no lock) and the lock that was taken away.
    assert forced.status_code == 200 and forced.json()["lock"]["holder"] == "anna"
    assert forced.json()["file"]["id"] == part["id"] and forced.json()["file"]["lock"] is None
    assert (await client.post(url(part, "force-release"), headers=boss)).status_code == 409
    assert (await client.post(url(part, "force-release"), headers=anna)).status_code == 403
    late = await check_in(client, anna, part["id"], b"late edit")
    assert late.status_code == 409
    assert "force-released by boss" in late.json()["detail"]
    await client.post(url(part, "checkout"), json={}, headers=ben)
    # Ben holds it now, but for Anna this is still her lost lock: 409 (conflict), not 403 (a stranger's lock).
    taken = await check_in(client, anna, part["id"], b"late edit")
    assert taken.status_code == 409
    assert "ben has it checked out now" in taken.json()["detail"]
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(1,)]
    # Once Anna's own story with the file has moved on (she checked it out and released it again after
    # Ben), Ben's next lock is simply someone else's: 403.
    await client.post(url(part, "release"), headers=ben)
    await client.post(url(part, "checkout"), json={}, headers=anna)
    await client.post(url(part, "release"), headers=anna)
    await client.post(url(part, "checkout"), json={}, headers=ben)
    assert (await check_in(client, anna, part["id"], b"x")).status_code == 403
    [(details,)] = await sql(db, "SELECT details FROM audit_events WHERE action='lock.force_released'")
    assert details["holder"] == "anna" and details["message"] == "long job"


async def test_release_and_renew(
    client: httpx.AsyncClient, anna: dict[str, str], part: dict[str, object], db: AsyncSession
) -> None:
    first = (await client.post(url(part, "checkout"), json={}, headers=anna)).json()["lock"]["until"]
    await asyncio.sleep(0.05)
    renewed = await client.post(url(part, "renew"), headers=anna)
    assert renewed.status_code == 200 and renewed.json()["lock"]["until"] > first
    assert renewed.json()["file"]["lock"]["until"] == renewed.json()["lock"]["until"]
    released = await client.post(url(part, "release"), headers=anna)
    assert released.status_code == 200
    assert (await client.post(url(part, "release"), headers=anna)).status_code == 409
    assert (await client.post(url(part, "renew"), headers=anna)).status_code == 409
    assert await sql(db, "SELECT count(*) FROM locks") == [(0,)]


async def test_admin_releases_every_lock_of_one_user(
    client: httpx.AsyncClient, anna: dict[str, str], ben: dict[str, str], admin: Admin, db: AsyncSession
) -> None:
    _, boss = admin
    ids = [(await upload_one(client, anna, f"p{i}.nc", b"x"))["id"] for i in range(3)]
    for i in ids[:2]:
        await client.post(f"/api/files/{i}/checkout", json={}, headers=anna)
    await client.post(f"/api/files/{ids[2]}/checkout", json={}, headers=ben)
    [(anna_id,)] = await sql(db, "SELECT id FROM users WHERE username='anna'")
    r = await client.post(f"/api/admin/users/{anna_id}/release-locks", headers=boss)
    assert r.status_code == 200
    assert sorted(lk["file_id"] for lk in r.json()["released"]) == sorted(ids[:2])
    assert [lk["holder"] for lk in (await client.get("/api/locks", headers=boss)).json()] == ["ben"]
    assert (await client.post(f"/api/admin/users/{anna_id}/release-locks", headers=anna)).status_code == 403
    assert (await client.post("/api/admin/users/999/release-locks", headers=boss)).status_code == 404


async def test_unknown_and_deleted_files(client: httpx.AsyncClient, anna: dict[str, str]) -> None:
    for action in ["checkout", "checkin", "renew", "release"]:
        assert (await client.post(f"/api/files/999/{action}", json={}, headers=anna)).status_code == 404


async def test_expired_lock_is_taken_over_before_the_sweeper_runs(
    client: httpx.AsyncClient, anna: dict[str, str], ben: dict[str, str], part: dict[str, object], db: AsyncSession
) -> None:
    await client.post(url(part, "checkout"), json={}, headers=anna)
    await db.execute(text("UPDATE locks SET expires_at = now() - interval '1 second'"))
    await db.commit()
    assert (await client.get(f"/api/files/{part['id']}", headers=ben)).json()["lock"] is None
    r = await client.post(url(part, "checkout"), json={}, headers=ben)
    assert r.status_code == 200 and r.json()["lock"]["holder"] == "ben"
    late = await check_in(client, anna, part["id"], b"too late")
    assert late.status_code == 409, late.text  # her lock expired and was taken: conflict, nothing written
    assert "expired" in late.json()["detail"] and "ben has it" in late.json()["detail"]
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(1,)]
    [(details,)] = await sql(db, "SELECT details FROM audit_events WHERE action='lock.expired'")
    assert details["holder"] == "anna"


async def test_sweeper_releases_expired_locks_with_audit_rows(
    settings: Settings, make_user: MakeUser, db: AsyncSession
) -> None:
    short = settings.model_copy(update={"lock_ttl_seconds": 1, "lock_sweep_seconds": 0.2})
    app = create_app(short)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await make_user("anna")
            r = await c.post("/api/auth/token", json={"login": "anna", "password": "correct horse battery"})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            f = await upload_one(c, headers, "a.nc", b"a")
            await c.post(f"/api/files/{f['id']}/checkout", json={}, headers=headers)
            deadline = asyncio.get_running_loop().time() + 10
            while await sql(db, "SELECT count(*) FROM locks") != [(0,)]:
                assert asyncio.get_running_loop().time() < deadline, "sweeper never released the lock"
                await asyncio.sleep(0.1)
    rows = await sql(db, "SELECT actor_name, target, details->>'holder' FROM audit_events WHERE action='lock.expired'")
    assert rows == [("system", "a.nc", "anna")]


async def test_only_one_sweeper_at_a_time(app: FastAPI, settings: Settings) -> None:
    async with app.state.sessionmaker() as first, app.state.sessionmaker() as second:
        from sqlalchemy import func, select

        from app.services.locks import SWEEPER_LOCK

        await first.execute(select(func.pg_advisory_xact_lock(SWEEPER_LOCK)))
        assert await LockService(second, settings, app.state.store).sweep() == 0
        await first.rollback()


async def test_a_failed_git_write_leaves_the_lock_held_and_nothing_half_written(
    client: httpx.AsyncClient, anna: dict[str, str], part: dict[str, object], db: AsyncSession, settings: Settings
) -> None:
    repo = settings.data_dir / "vault.git"
    await client.post(url(part, "checkout"), json={}, headers=anna)
    head = git(repo, "rev-parse", "main")
    content = b"new content that cannot be stored\n"
    # Git stores the blob under objects/<first two hex digits>/; a plain file in that place makes
    # the write fail for any user, root included (permissions would not stop root).
    sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    fan_out = repo / "objects" / sha[:2]
    moved = fan_out.with_name(sha[:2] + ".away")
    if fan_out.exists():
        fan_out.rename(moved)
    fan_out.write_bytes(b"in the way")
    try:
        r = await check_in(client, anna, part["id"], content)
    finally:
        fan_out.unlink()
        if moved.exists():
            moved.rename(fan_out)
    assert r.status_code == 503, r.text
    assert "nothing was changed" in r.json()["detail"]
    assert git(repo, "rev-parse", "main") == head
    assert await sql(db, "SELECT count(*) FROM file_versions") == [(1,)]
    assert await sql(db, "SELECT count(*) FROM locks") == [(1,)]
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action IN ('lock.checkin','file.version_added')") == [
        (0,)
    ]
    ok = await check_in(client, anna, part["id"], b"retry works\n")
    assert ok.status_code == 200 and ok.json()["head_version"] == 2


async def test_two_racing_check_outs_in_one_worker(
    client: httpx.AsyncClient, part: dict[str, object], make_user: MakeUser, login: Login
) -> None:
    headers = []
    for i in range(8):
        await make_user(f"racer{i}")
        headers.append(await login(f"racer{i}"))
    results = await asyncio.gather(*(client.post(url(part, "checkout"), json={}, headers=h) for h in headers))
    assert sorted(r.status_code for r in results) == [200] + [409] * 7


async def test_a_check_out_whose_snapshot_missed_a_committed_lock_names_the_holder(
    client: httpx.AsyncClient,
    anna: dict[str, str],
    ben: dict[str, str],
    part: dict[str, object],
    database_url: str,
    db: AsyncSession,
) -> None:
    """Ben's check-out reads the file (no lock in its snapshot), takes the gate, then waits for the file row behind
    another transaction that only locked it; Anna's lock commits meanwhile (her upsert does not need the row
    lock). Ben's upsert then meets Anna's lock: he is told she holds it, as any loser is."""
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        blocker = conn.transaction()
        await blocker.start()
        await conn.execute("SELECT 1 FROM files WHERE id = $1 FOR NO KEY UPDATE", part["id"])
        ben_tries = asyncio.create_task(client.post(url(part, "checkout"), json={"message": "mine"}, headers=ben))
        deadline = asyncio.get_running_loop().time() + 30
        while not await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ):
            assert asyncio.get_running_loop().time() < deadline, "ben's check-out never waited for the file row"
            await asyncio.sleep(0.02)
        [(anna_id,)] = await sql(db, "SELECT id FROM users WHERE username = 'anna'")
        assert isinstance(anna_id, int) and isinstance(part["id"], int)
        async with db.begin():
            taken = await LockRepository(db).acquire(part["id"], anna_id, "hers", 3600)
        assert taken is not None
        await blocker.commit()
        lost = await ben_tries
    finally:
        await conn.close()
    assert lost.status_code == 409, lost.text
    assert lost.json()["detail"]["holder"] == "anna"
    assert await sql(db, "SELECT user_id FROM locks") == [(anna_id,)]
