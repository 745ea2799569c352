"""The Git LFS File Locking API at /git/vault.git/info/lfs/locks, over HTTP (the real git-lfs client is in
tests/interop). These are camvault's locks: what LFS does shows in /api/locks and the audit log."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import PASSWORD, Login, MakeUser, sql
from tests.vault import check_in, upload_one

LOCKS = "/git/vault.git/info/lfs/locks"
LFS = "application/vnd.git-lfs+json"


def basic(login: str, secret: str = PASSWORD) -> dict[str, str]:
    credentials = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}", "Accept": LFS, "Content-Type": f"{LFS}; charset=utf-8"}


@pytest.fixture
async def people(make_user: MakeUser, login: Login) -> dict[str, dict[str, str]]:
    for name, role in (("anna", Role.user), ("ben", Role.user), ("boss", Role.admin), ("vera", Role.viewer)):
        await make_user(name, role)
    return {"anna": await login("anna"), "boss": await login("boss")}


@pytest.fixture
async def parts(client: httpx.AsyncClient, people: dict[str, dict[str, str]]) -> list[dict[str, object]]:
    return [await upload_one(client, people["anna"], f"jobs/op{n}.nc", f"G0 X{n}\n".encode()) for n in range(1, 6)]


async def lock(client: httpx.AsyncClient, who: str, path: str) -> httpx.Response:
    return await client.post(LOCKS, json={"path": path, "ref": {"name": "refs/heads/main"}}, headers=basic(who))


async def test_create_answers_201_with_the_lock_in_lfs_json_and_is_a_camvault_check_out(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]], db: AsyncSession
) -> None:
    r = await lock(client, "anna", "jobs/op1.nc")
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == LFS
    body = r.json()["lock"]
    assert body["id"] == str(parts[0]["id"]) and body["path"] == "jobs/op1.nc"
    assert body["owner"] == {"name": "anna"} and body["locked_at"]
    web = (await client.get("/api/locks", headers=people["anna"])).json()
    assert [(lk["path"], lk["holder"], lk["message"]) for lk in web] == [("jobs/op1.nc", "anna", "git lfs lock")]
    assert await sql(db, "SELECT actor_name, target FROM audit_events WHERE action = 'lock.checkout'") == [
        ("anna", "jobs/op1.nc")
    ]


async def test_a_held_file_answers_409_with_the_existing_lock_and_a_message(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]]
) -> None:
    r = await client.post(f"/api/files/{parts[0]['id']}/checkout", json={"message": "web"}, headers=people["anna"])
    assert r.status_code == 200
    r = await lock(client, "ben", "JOBS/op1.nc")  # paths match as the catalog does: ignoring case
    assert r.status_code == 409 and r.headers["content-type"] == LFS
    body = r.json()
    assert body["message"] == "File is checked out by anna"
    assert body["lock"]["owner"] == {"name": "anna"} and body["lock"]["path"] == "jobs/op1.nc"


async def test_unknown_and_deleted_paths_are_404_and_viewers_are_403(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]], db: AsyncSession
) -> None:
    r = await lock(client, "anna", "jobs/nothere.nc")
    assert r.status_code == 404 and "not a file in the vault" in r.json()["message"]
    assert (await client.delete(f"/api/files/{parts[1]['id']}", headers=people["boss"])).status_code in (200, 204)
    assert (await lock(client, "anna", "jobs/op2.nc")).status_code == 404
    r = await lock(client, "vera", "jobs/op1.nc")
    assert r.status_code == 403 and "viewer" in r.json()["message"]
    assert (await client.post(f"{LOCKS}/verify", json={}, headers=basic("vera"))).status_code == 403
    assert await sql(db, "SELECT count(*) FROM locks") == [(0,)]


@pytest.mark.parametrize(
    "body", [{}, {"path": ""}, {"path": 5}, {"path": "a\u0000.nc"}, {"path": "x.nc", "ref": "refs/heads/main"}]
)
async def test_malformed_requests_are_422_as_lfs_messages(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], body: dict[str, object]
) -> None:
    r = await client.post(LOCKS, json=body, headers=basic("anna"))
    assert r.status_code == 422 and r.headers["content-type"] == LFS
    assert r.json()["message"].startswith("Invalid request") and "detail" not in r.json()


async def test_list_filters_by_path_and_id_and_pages_with_a_cursor(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]]
) -> None:
    for n in (1, 2, 3, 4, 5):
        assert (await lock(client, "anna" if n % 2 else "ben", f"jobs/op{n}.nc")).status_code == 201
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, "refspec": "refs/heads/main", **({"cursor": cursor} if cursor else {})}
        r = await client.get(LOCKS, params=params, headers=basic("boss"))  # any role may list
        assert r.status_code == 200 and r.headers["content-type"] == LFS
        page = r.json()
        assert len(page["locks"]) <= 2
        seen += [lk["path"] for lk in page["locks"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == [f"jobs/op{n}.nc" for n in range(1, 6)]
    # The shop floor lists the locks of the files it sees (released ones): none here.
    assert (await client.get(LOCKS, headers=basic("vera"))).json()["locks"] == []
    by_path = (await client.get(LOCKS, params={"path": "jobs/op4.nc"}, headers=basic("anna"))).json()["locks"]
    assert [(lk["path"], lk["owner"]["name"]) for lk in by_path] == [("jobs/op4.nc", "ben")]
    by_id = (await client.get(LOCKS, params={"id": str(parts[2]["id"])}, headers=basic("anna"))).json()["locks"]
    assert [lk["path"] for lk in by_id] == ["jobs/op3.nc"]
    assert (await client.get(LOCKS, params={"id": "nope"}, headers=basic("anna"))).json() == {
        "locks": [],
        "next_cursor": None,
    }
    r = await client.get(LOCKS, params={"cursor": "garbage!"}, headers=basic("anna"))
    assert r.status_code == 400 and r.json()["message"] == "Invalid cursor"
    assert (await client.get(LOCKS, params={"limit": 0}, headers=basic("anna"))).status_code == 422


async def test_verify_splits_ours_and_theirs_and_pages(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]]
) -> None:
    for n in (1, 2, 3):
        assert (await lock(client, "anna" if n != 2 else "ben", f"jobs/op{n}.nc")).status_code == 201
    r = await client.post(f"{LOCKS}/verify", json={"ref": {"name": "refs/heads/main"}}, headers=basic("anna"))
    assert r.status_code == 200 and r.headers["content-type"] == LFS
    body = r.json()
    assert [lk["path"] for lk in body["ours"]] == ["jobs/op1.nc", "jobs/op3.nc"]
    assert [(lk["path"], lk["owner"]["name"]) for lk in body["theirs"]] == [("jobs/op2.nc", "ben")]
    first = (await client.post(f"{LOCKS}/verify", json={"limit": 2}, headers=basic("ben"))).json()
    assert len(first["ours"]) + len(first["theirs"]) == 2 and first["next_cursor"]
    rest = (
        await client.post(f"{LOCKS}/verify", json={"limit": 2, "cursor": first["next_cursor"]}, headers=basic("ben"))
    ).json()
    assert [lk["path"] for lk in rest["theirs"]] == ["jobs/op3.nc"] and rest["next_cursor"] is None


async def test_unlock_by_holder_other_user_non_admin_force_and_admin_force(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]], db: AsyncSession
) -> None:
    lock_id = (await lock(client, "anna", "jobs/op1.nc")).json()["lock"]["id"]
    unlock = f"{LOCKS}/{lock_id}/unlock"
    r = await client.post(unlock, json={"force": False}, headers=basic("ben"))
    assert r.status_code == 403 and "locked by anna" in r.json()["message"]
    r = await client.post(unlock, json={"force": True}, headers=basic("ben"))
    assert r.status_code == 403 and "Only an admin" in r.json()["message"]
    r = await client.post(unlock, json={"force": True}, headers=basic("boss"))
    assert r.status_code == 200 and r.json()["lock"]["owner"] == {"name": "anna"}
    assert await sql(
        db, "SELECT actor_name, details->>'holder' FROM audit_events WHERE action = 'lock.force_released'"
    ) == [("boss", "anna")]
    assert (await client.post(unlock, json={}, headers=basic("anna"))).status_code == 404
    lock_id = (await lock(client, "anna", "jobs/op1.nc")).json()["lock"]["id"]
    r = await client.post(f"{LOCKS}/{lock_id}/unlock", headers=basic("anna"))  # no body at all
    assert r.status_code == 200 and r.json()["lock"]["path"] == "jobs/op1.nc"
    assert await sql(db, "SELECT count(*) FROM locks") == [(0,)]
    for bad in ("nope", "0", "99999999999"):
        r = await client.post(f"{LOCKS}/{bad}/unlock", json={}, headers=basic("anna"))
        assert r.status_code == 404 and r.json()["message"] == f"Lock {bad} not found"


async def test_cooldown_after_a_check_in_applies_to_lfs_too(
    client: httpx.AsyncClient, people: dict[str, dict[str, str]], parts: list[dict[str, object]]
) -> None:
    file_id = parts[0]["id"]
    assert (await client.post(f"/api/files/{file_id}/checkout", json={}, headers=people["anna"])).status_code == 200
    assert (await check_in(client, people["anna"], file_id, b"G1 X9\n")).status_code == 200
    r = await lock(client, "ben", "jobs/op1.nc")
    assert r.status_code == 409 and "checked in by anna" in r.json()["message"]
    assert int(r.headers["retry-after"]) > 0
