from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role, User
from tests.conftest import PASSWORD, Login, MakeUser, sql
from tests.vault import upload_one

Admin = tuple[User, dict[str, str]]


async def test_admin_creates_lists_gets_updates_users(
    client: httpx.AsyncClient, admin: Admin, db: AsyncSession
) -> None:
    _, headers = admin
    r = await client.post(
        "/api/admin/users",
        json={
            "username": "carl",
            "password": "long enough pw",
            "email": "carl@shop.example",
            "full_name": "Carl",
            "role": "user",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    carl = r.json()
    assert carl["role"] == "user" and carl["is_active"] is True
    listing = await client.get("/api/admin/users", headers=headers)
    assert listing.status_code == 200
    assert {u["username"] for u in listing.json()["items"]} == {"boss", "carl"}
    assert listing.json()["total"] == 2
    filtered = await client.get("/api/admin/users", params={"q": "CAR", "role": "user"}, headers=headers)
    assert [u["username"] for u in filtered.json()["items"]] == ["carl"]
    got = await client.get(f"/api/admin/users/{carl['id']}", headers=headers)
    assert got.json()["email"] == "carl@shop.example"
    patched = await client.patch(
        f"/api/admin/users/{carl['id']}", json={"full_name": "Carl Mason", "role": "viewer"}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["full_name"] == "Carl Mason" and patched.json()["role"] == "viewer"
    for resp in (r, listing, filtered, got, patched):
        assert "password" not in resp.text and "$argon2" not in resp.text
    rows = await sql(db, "SELECT action, target, details FROM audit_events WHERE action LIKE 'user.%' ORDER BY id")
    assert [(a, t) for a, t, _ in rows] == [
        ("user.created", "boss"),
        ("user.created", "carl"),
        ("user.updated", "carl"),
    ]
    assert rows[2][2] == {"full_name": ["Carl", "Carl Mason"], "role": ["user", "viewer"]}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "BOSS", "password": "long enough pw"}, 409),
        ({"username": "x", "password": "long enough pw"}, 422),
        ({"username": "has space", "password": "long enough pw"}, 422),
        ({"username": "carl", "password": "short"}, 422),
        ({"username": "carl", "password": "long enough pw", "role": "superuser"}, 422),
        ({"username": "carl", "password": "long enough pw", "email": "not-an-email"}, 422),
        ({"username": "carl", "password": "long enough pw", "password_hash": "x"}, 422),
    ],
)
async def test_create_user_refuses_bad_input(
    client: httpx.AsyncClient, admin: Admin, db: AsyncSession, body: dict[str, str], status: int
) -> None:
    r = await client.post("/api/admin/users", json=body, headers=admin[1])
    assert r.status_code == status
    assert "detail" in r.json()
    assert await sql(db, "SELECT count(*) FROM users") == [(1,)]


async def test_duplicate_email_is_409(client: httpx.AsyncClient, admin: Admin, make_user: MakeUser) -> None:
    await make_user("anna", email="anna@shop.example")
    carl = await make_user("carl")
    r = await client.post(
        "/api/admin/users",
        json={"username": "dora", "password": "long enough pw", "email": "ANNA@shop.example"},
        headers=admin[1],
    )
    assert r.status_code == 409
    r = await client.patch(f"/api/admin/users/{carl.id}", json={"email": "Anna@Shop.example"}, headers=admin[1])
    assert r.status_code == 409


async def test_unknown_user_is_404(client: httpx.AsyncClient, admin: Admin) -> None:
    for method, url, body in [
        ("GET", "/api/admin/users/999", None),
        ("PATCH", "/api/admin/users/999", {"full_name": "x"}),
        ("POST", "/api/admin/users/999/password", {"new_password": "long enough pw"}),
        ("POST", "/api/admin/users/999/deactivate", None),
    ]:
        r = await client.request(method, url, json=body, headers=admin[1])
        assert r.status_code == 404, url
        assert r.json()["detail"]


@pytest.mark.parametrize("role", [Role.user, Role.viewer])
async def test_non_admins_get_403_on_every_admin_endpoint(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, role: Role
) -> None:
    victim = await make_user("victim")
    await make_user("someone", role)
    headers = await login("someone")
    for method, url, body in [
        ("GET", "/api/admin/users", None),
        ("POST", "/api/admin/users", {"username": "evil", "password": "long enough pw"}),
        ("GET", f"/api/admin/users/{victim.id}", None),
        ("PATCH", f"/api/admin/users/{victim.id}", {"role": "admin"}),
        ("POST", f"/api/admin/users/{victim.id}/password", {"new_password": "long enough pw"}),
        ("POST", f"/api/admin/users/{victim.id}/deactivate", None),
        ("GET", "/api/admin/audit", None),
    ]:
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code == 403, (method, url)
        anon = await client.request(method, url, json=body)
        assert anon.status_code == 401, (method, url)


async def test_demoted_admin_loses_admin_access_on_the_next_request(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser, login: Login
) -> None:
    second = await make_user("second", Role.admin)
    second_headers = await login("second")
    assert (await client.get("/api/admin/users", headers=second_headers)).status_code == 200
    r = await client.patch(f"/api/admin/users/{second.id}", json={"role": "user"}, headers=admin[1])
    assert r.status_code == 200
    assert (await client.get("/api/admin/users", headers=second_headers)).status_code == 403
    assert (await client.get("/api/users/me", headers=second_headers)).json()["role"] == "user"


async def test_deactivated_user_is_rejected_at_once_and_cannot_log_in(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    anna = await make_user("anna")
    headers = await login("anna")
    r = await client.post(f"/api/admin/users/{anna.id}/deactivate", headers=admin[1])
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    assert (await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})).status_code == 401
    # Reactivation brings the account back; it was never deleted.
    await client.patch(f"/api/admin/users/{anna.id}", json={"is_active": True}, headers=admin[1])
    assert (await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})).status_code == 200
    assert await sql(db, "SELECT count(*) FROM users WHERE username='anna'") == [(1,)]


async def test_reactivation_does_not_revive_any_token_made_before_the_deactivation(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser, login: Login
) -> None:
    anna = await make_user("anna")
    headers = await login("anna")
    made = await client.post("/api/users/me/access-tokens", json={"name": "git"}, headers=headers)
    assert made.status_code == 201, made.text
    access = made.json()["token"]
    part = await upload_one(client, headers, "op10.nc", b"G0 X0\n")
    link = await client.post(f"/api/files/{part['id']}/download-link", headers=headers)
    assert link.status_code == 200, link.text
    assert (await client.get(link.json()["url"])).status_code == 200
    basic = {"Authorization": "Basic " + base64.b64encode(f"anna:{access}".encode()).decode()}
    locks = "/git/vault.git/info/lfs/locks"
    assert (await client.get(locks, headers=basic)).status_code == 200

    r = await client.post(f"/api/admin/users/{anna.id}/deactivate", headers=admin[1])
    assert r.status_code == 200
    r = await client.patch(f"/api/admin/users/{anna.id}", json={"is_active": True}, headers=admin[1])
    assert r.status_code == 200 and r.json()["is_active"] is True

    assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    assert (await client.get(locks, headers=basic)).status_code == 401
    assert (await client.get(link.json()["url"])).status_code == 401
    # The account itself is back: a new login and new tokens work.
    fresh = await login("anna")
    assert (await client.get("/api/users/me", headers=fresh)).status_code == 200
    assert (await client.get("/api/users/me/access-tokens", headers=fresh)).json() == []


async def test_there_is_no_hard_delete(client: httpx.AsyncClient, admin: Admin, make_user: MakeUser) -> None:
    anna = await make_user("anna")
    r = await client.delete(f"/api/admin/users/{anna.id}", headers=admin[1])
    assert r.status_code == 405


async def test_reset_password_revokes_the_users_tokens(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    anna = await make_user("anna")
    headers = await login("anna")
    r = await client.post(
        f"/api/admin/users/{anna.id}/password", json={"new_password": "brand new password"}, headers=admin[1]
    )
    assert r.status_code == 204
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    await login("anna", "brand new password")
    assert (
        await client.post(f"/api/admin/users/{anna.id}/password", json={"new_password": "x"}, headers=admin[1])
    ).status_code == 422
    assert await sql(db, "SELECT actor_name, target FROM audit_events WHERE action='user.password_reset'") == [
        ("boss", "anna")
    ]


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser
) -> None:
    boss, headers = admin
    assert (
        await client.patch(f"/api/admin/users/{boss.id}", json={"role": "user"}, headers=headers)
    ).status_code == 409
    assert (await client.post(f"/api/admin/users/{boss.id}/deactivate", headers=headers)).status_code == 409
    assert (await client.get("/api/admin/users", headers=headers)).status_code == 200
    await make_user("second", Role.admin)
    assert (
        await client.patch(f"/api/admin/users/{boss.id}", json={"role": "user"}, headers=headers)
    ).status_code == 200


async def test_update_with_unknown_field_is_422(client: httpx.AsyncClient, admin: Admin, make_user: MakeUser) -> None:
    anna = await make_user("anna")
    r = await client.patch(f"/api/admin/users/{anna.id}", json={"token_version": 5}, headers=admin[1])
    assert r.status_code == 422
