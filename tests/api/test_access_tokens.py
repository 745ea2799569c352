"""Personal access tokens: made and revoked by their owner, used as the password of HTTP Basic (git, git-lfs)."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import PASSWORD, Login, MakeUser, sql

LOCKS = "/git/vault.git/info/lfs/locks"
TOKENS = "/api/users/me/access-tokens"


def basic(login: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{secret}".encode()).decode()}


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("anna", Role.user, email="anna@example.com")
    return await login("anna")


async def make_token(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    r = await client.post(TOKENS, json={"name": "laptop git", **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_token_is_shown_once_stored_only_as_a_hash_and_audited(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession
) -> None:
    made = await make_token(client, anna, expires_in_days=30)
    secret = str(made["token"])
    assert secret.startswith("cvt_") and len(secret) > 40
    assert made["name"] == "laptop git" and made["hint"] == secret[:8] and made["expires_at"] is not None
    listed = (await client.get(TOKENS, headers=anna)).json()
    assert [t["id"] for t in listed] == [made["id"]]
    assert "token" not in listed[0] and all(secret not in str(v) for v in listed[0].values())
    stored = await sql(db, "SELECT token_hash, hint FROM access_tokens")
    assert len(stored) == 1 and secret not in str(stored) and len(str(stored[0][0])) == 64
    audit = await sql(
        db, "SELECT actor_name, target, details->>'name' FROM audit_events WHERE action = 'access_token.created'"
    )
    assert audit == [("anna", "anna", "laptop git")]


async def test_basic_auth_takes_a_password_or_a_token_by_username_or_email(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession
) -> None:
    secret = str((await make_token(client, anna))["token"])
    for credentials in (basic("anna", PASSWORD), basic("ANNA@example.com", PASSWORD), basic("anna", secret)):
        r = await client.get(LOCKS, headers=credentials)
        assert r.status_code == 200, r.text
    [(last_used,)] = await sql(db, "SELECT last_used_at FROM access_tokens")
    assert last_used is not None
    # A token is bound to its owner: someone else's username with it is a failed login.
    r = await client.get(LOCKS, headers=basic("boss", secret))
    assert r.status_code == 401


async def test_revoking_a_token_ends_it_at_once_and_is_audited(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession
) -> None:
    made = await make_token(client, anna)
    assert (await client.get(LOCKS, headers=basic("anna", str(made["token"])))).status_code == 200
    r = await client.delete(f"{TOKENS}/{made['id']}", headers=anna)
    assert r.status_code == 204
    r = await client.get(LOCKS, headers=basic("anna", str(made["token"])))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert (await client.get(TOKENS, headers=anna)).json() == []
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'access_token.revoked'") == [(1,)]
    assert (await client.delete(f"{TOKENS}/{made['id']}", headers=anna)).status_code == 404


async def test_nobody_can_list_or_revoke_another_users_token(
    client: httpx.AsyncClient, anna: dict[str, str], make_user: MakeUser, login: Login
) -> None:
    made = await make_token(client, anna)
    await make_user("ben", Role.admin)
    ben = await login("ben")
    assert (await client.get(TOKENS, headers=ben)).json() == []
    assert (await client.delete(f"{TOKENS}/{made['id']}", headers=ben)).status_code == 404
    assert (await client.get(LOCKS, headers=basic("anna", str(made["token"])))).status_code == 200


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession) -> None:
    secret = str((await make_token(client, anna, expires_in_days=1))["token"])
    await db.execute(text("UPDATE access_tokens SET expires_at = now() - interval '1 second'"))
    await db.commit()
    assert (await client.get(LOCKS, headers=basic("anna", secret))).status_code == 401


async def test_a_password_change_ends_every_token(
    client: httpx.AsyncClient, anna: dict[str, str], login: Login
) -> None:
    secret = str((await make_token(client, anna))["token"])
    r = await client.post(
        "/api/users/me/password", json={"old_password": PASSWORD, "new_password": "another long one"}, headers=anna
    )
    assert r.status_code == 204, r.text
    assert (await client.get(LOCKS, headers=basic("anna", secret))).status_code == 401
    fresh = await login("anna", "another long one")
    assert (await client.get(TOKENS, headers=fresh)).json() == []


async def test_a_deactivated_user_is_refused_with_password_and_token(
    client: httpx.AsyncClient, anna: dict[str, str], admin: tuple[object, dict[str, str]], db: AsyncSession
) -> None:
    secret = str((await make_token(client, anna))["token"])
    [(anna_id,)] = await sql(db, "SELECT id FROM users WHERE username = 'anna'")
    r = await client.patch(f"/api/admin/users/{anna_id}", json={"is_active": False}, headers=admin[1])
    assert r.status_code == 200, r.text
    for credentials in (basic("anna", PASSWORD), basic("anna", secret)):
        assert (await client.get(LOCKS, headers=credentials)).status_code == 401


async def test_wrong_basic_credentials_are_audited_and_throttled(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession
) -> None:
    for _ in range(5):
        r = await client.get(LOCKS, headers=basic("anna", "wrong password"))
        assert r.status_code == 401
        assert r.json()["message"] == "Incorrect username or password"
    failures = await sql(db, "SELECT details->>'via' FROM audit_events WHERE action = 'auth.login_failed'")
    assert failures == [("basic",)] * 5
    # Throttled now, even with the right password, like the web login.
    r = await client.get(LOCKS, headers=basic("anna", PASSWORD))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_a_live_token_still_works_while_wrong_passwords_throttle_the_account(
    client: httpx.AsyncClient, anna: dict[str, str]
) -> None:
    secret = str((await make_token(client, anna))["token"])
    for _ in range(5):
        assert (await client.get(LOCKS, headers=basic("anna", "wrong password"))).status_code == 401
    assert (await client.get(LOCKS, headers=basic("anna", PASSWORD))).status_code == 429
    # Someone else's guessing must not stop the user's git client: a token is not a guessable password.
    assert (await client.get(LOCKS, headers=basic("anna", secret))).status_code == 200
    # A dead or wrong token is a failed password like any other, and throttled like one.
    assert (await client.get(LOCKS, headers=basic("anna", "cvt_not-a-real-token"))).status_code == 429


@pytest.mark.parametrize(
    "header",
    [None, "Bearer abc", "Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode()],
)
async def test_missing_or_malformed_basic_credentials_ask_for_basic(
    client: httpx.AsyncClient, anna: dict[str, str], header: str | None
) -> None:
    r = await client.get(LOCKS, headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Basic realm="camvault"')
    assert r.headers["content-type"] == "application/vnd.git-lfs+json"
    assert "message" in r.json() and "detail" not in r.json()


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": "a", "expires_in_days": 0}, {"name": "a", "extra": 1}]
)
async def test_bad_token_requests_are_422_and_make_nothing(
    client: httpx.AsyncClient, anna: dict[str, str], body: dict[str, object], db: AsyncSession
) -> None:
    r = await client.post(TOKENS, json=body, headers=anna)
    assert r.status_code == 422
    assert await sql(db, "SELECT count(*) FROM access_tokens") == [(0,)]


async def test_token_routes_need_a_bearer_token(client: httpx.AsyncClient) -> None:
    assert (await client.get(TOKENS)).status_code == 401
    assert (await client.post(TOKENS, json={"name": "x"})).status_code == 401
