from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import bcrypt
import httpx
import pytest
from jose import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app
from app.models import Role
from tests.conftest import PASSWORD, Login, MakeUser, sql


async def test_form_login_gives_a_token_that_identifies_the_user(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("anna", Role.user)
    r = await client.post("/api/auth/login", data={"username": "anna", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["username"] == "anna"
    assert "password_hash" not in r.text and "$argon2" not in r.text
    me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "anna"
    assert "password" not in me.text


async def test_token_carries_sub_exp_jti(client: httpx.AsyncClient, make_user: MakeUser, settings: Settings) -> None:
    user = await make_user("anna")
    r = await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
    claims = jwt.get_unverified_claims(r.json()["access_token"])
    assert claims["sub"] == str(user.id)
    assert claims["exp"] > datetime.now(UTC).timestamp()
    assert len(claims["jti"]) >= 16


@pytest.mark.parametrize("login_as", ["anna", "ANNA", "anna@shop.example", "Anna@Shop.Example"])
async def test_json_login_by_username_or_email_ignores_case(
    client: httpx.AsyncClient, make_user: MakeUser, login_as: str
) -> None:
    await make_user("anna", email="anna@shop.example")
    r = await client.post("/api/auth/token", json={"login": login_as, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == "anna"


async def test_wrong_password_unknown_user_and_inactive_user_are_401_and_audited(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession, admin: tuple[object, dict[str, str]]
) -> None:
    anna = await make_user("anna")
    _, admin_headers = admin
    await client.post(f"/api/admin/users/{anna.id}/deactivate", headers=admin_headers)
    cases = [
        ("anna", PASSWORD, "inactive"),
        ("boss", "wrong-password", "bad_password"),
        ("ghost", PASSWORD, "unknown_user"),
    ]
    for name, password, _ in cases:
        r = await client.post("/api/auth/token", json={"login": name, "password": password})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json() == {"detail": "Incorrect username or password"}
    rows = await sql(
        db,
        "SELECT target, details->>'reason', client_ip FROM audit_events WHERE action='auth.login_failed' ORDER BY id",
    )
    assert rows == [(n, reason, "203.0.113.7") for n, _, reason in cases]


async def test_successful_login_is_audited(client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession) -> None:
    anna = await make_user("anna")
    await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
    rows = await sql(db, "SELECT actor_id, target, request_id IS NOT NULL FROM audit_events WHERE action='auth.login'")
    assert rows == [(anna.id, "anna", True)]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"login": "anna"},
        {"password": "x"},
        {"login": "", "password": "x"},
        {"login": "a", "password": "x", "extra": 1},
    ],
)
async def test_malformed_json_login_is_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    r = await client.post("/api/auth/token", json=body)
    assert r.status_code == 422
    assert "detail" in r.json()


async def test_malformed_form_login_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/login", data={"username": "anna"})
    assert r.status_code == 422


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-jwt", "Basic YW5uYTpwdw==", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."],
)
async def test_missing_or_malformed_token_is_401(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = await client.get("/api/users/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "detail" in r.json()


async def test_forged_and_expired_tokens_are_401(
    client: httpx.AsyncClient, make_user: MakeUser, settings: Settings
) -> None:
    user = await make_user("anna")
    now = datetime.now(UTC)
    forged = jwt.encode({"sub": str(user.id), "exp": now + timedelta(hours=1), "jti": "x" * 32}, "not-our-key", "HS256")
    expired = jwt.encode(
        {"sub": str(user.id), "exp": now - timedelta(seconds=5), "jti": "y" * 32}, settings.jwt_secret, "HS256"
    )
    no_jti = jwt.encode({"sub": str(user.id), "exp": now + timedelta(hours=1)}, settings.jwt_secret, "HS256")
    for token in (forged, expired, no_jti):
        r = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


async def test_logout_revokes_the_token_at_once(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    anna = await make_user("anna")
    first = await login("anna")
    second = await login("anna")
    r = await client.post("/api/auth/logout", headers=first)
    assert r.status_code == 204
    assert (await client.get("/api/users/me", headers=first)).status_code == 401
    assert (await client.post("/api/auth/logout", headers=first)).status_code == 401
    # Only the token that logged out is revoked; another session of the same user goes on.
    assert (await client.get("/api/users/me", headers=second)).status_code == 200
    assert await sql(db, "SELECT actor_id FROM audit_events WHERE action='auth.logout'") == [(anna.id,)]
    assert await sql(db, "SELECT count(*) FROM revoked_tokens") == [(1,)]


async def test_logout_without_a_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/auth/logout")).status_code == 401


async def test_bcrypt_hash_is_accepted_and_upgraded_to_argon2(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    anna = await make_user("anna")
    legacy = bcrypt.hashpw(b"legacy password", bcrypt.gensalt(rounds=4)).decode()
    await db.execute(text("UPDATE users SET password_hash=:h WHERE id=:id"), {"h": legacy, "id": anna.id})
    await db.commit()
    r = await client.post("/api/auth/token", json={"login": "anna", "password": "legacy password"})
    assert r.status_code == 200
    [(stored,)] = await sql(db, "SELECT password_hash FROM users WHERE id=:id", id=anna.id)
    assert isinstance(stored, str) and stored.startswith("$argon2id$")
    again = await client.post("/api/auth/token", json={"login": "anna", "password": "legacy password"})
    assert again.status_code == 200


async def test_repeated_failures_for_one_username_answer_429_with_retry_after(
    client: httpx.AsyncClient, make_user: MakeUser, settings: Settings
) -> None:
    await make_user("anna")
    for _ in range(settings.login_max_failures_per_user):
        r = await client.post("/api/auth/token", json={"login": "anna", "password": "nope-nope"})
        assert r.status_code == 401
    r = await client.post("/api/auth/token", json={"login": "ANNA", "password": PASSWORD})
    assert r.status_code == 429
    retry_after = int(r.headers["retry-after"])
    assert 0 < retry_after <= settings.login_failure_window_seconds
    assert "detail" in r.json()
    # The form login shares the same counter.
    assert (await client.post("/api/auth/login", data={"username": "anna", "password": PASSWORD})).status_code == 429


async def test_a_success_resets_the_per_user_counter(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await make_user("anna")
    for _ in range(4):
        await client.post("/api/auth/token", json={"login": "anna", "password": "nope-nope"})
    assert (await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})).status_code == 200
    for _ in range(4):
        await client.post("/api/auth/token", json={"login": "anna", "password": "nope-nope"})
    assert (await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})).status_code == 200


async def test_repeated_failures_from_one_address_answer_429(
    app: object, client: httpx.AsyncClient, make_user: MakeUser, settings: Settings
) -> None:
    await make_user("anna")
    for i in range(settings.login_max_failures_per_ip):
        r = await client.post("/api/auth/token", json={"login": f"guess{i}", "password": "nope-nope"})
        assert r.status_code == 401
    r = await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    # Another address is not punished for this one's guessing.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 1)), base_url="http://t")  # type: ignore[arg-type]
    async with other:
        assert (await other.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})).status_code == 200


async def test_failures_by_username_and_by_email_count_against_one_account(
    client: httpx.AsyncClient, make_user: MakeUser, db: AsyncSession
) -> None:
    await make_user("anna", email="anna@example.com")
    for login in ("anna", "ANNA@example.com", "Anna", "anna@EXAMPLE.com", "anna"):
        r = await client.post("/api/auth/token", json={"login": login, "password": "nope-nope"})
        assert r.status_code == 401, login
    for login in ("anna@example.com", "anna"):
        assert (await client.post("/api/auth/token", json={"login": login, "password": PASSWORD})).status_code == 429
    # The count lives in its own table (one row for the account, one for the address); the audit log
    # keeps the record of every failure.
    [(failures,)] = await sql(db, "SELECT failures FROM login_throttles WHERE key LIKE 'user:%'")
    assert failures == 5
    audited = await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'auth.login_failed'")
    assert audited == [(5,)]


async def test_unknown_logins_are_counted_per_typed_name(client: httpx.AsyncClient, db: AsyncSession) -> None:
    for _ in range(5):
        r = await client.post("/api/auth/token", json={"login": "ghost", "password": "nope-nope"})
        assert r.status_code == 401
    assert (await client.post("/api/auth/token", json={"login": "GHOST", "password": "x"})).status_code == 429
    assert (await client.post("/api/auth/token", json={"login": "ghost2", "password": "x"})).status_code == 401
    # What was typed is kept only as a digest (people type passwords into the login field).
    keys = [k for (k,) in await sql(db, "SELECT key FROM login_throttles")]
    assert not any("ghost" in str(k) for k in keys), keys


async def test_the_count_ends_with_its_window(settings: Settings, make_user: MakeUser) -> None:
    await make_user("anna")
    # Long enough that the five failures fall inside it on a loaded machine (2 s did not: the window had ended
    # before the sixth attempt), short enough to wait out.
    short = create_app(settings.model_copy(update={"login_failure_window_seconds": 5}))
    async with (
        short.router.lifespan_context(short),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=short, client=("203.0.113.8", 1)), base_url="http://t"
        ) as c,
    ):
        for _ in range(5):
            assert (await c.post("/api/auth/token", json={"login": "anna", "password": "no"})).status_code == 401
        r = await c.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) <= 5
        deadline = time.monotonic() + 15
        while r.status_code == 429 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            r = await c.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
        assert r.status_code == 200, r.text


async def test_rows_whose_window_ended_go_when_new_keys_come(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await db.execute(
        text(
            "INSERT INTO login_throttles VALUES ('login:stale', 3, now() - interval '1 hour'), ('login:live', 1, now())"
        )
    )
    await db.commit()
    assert (await client.post("/api/auth/token", json={"login": "someone", "password": "no"})).status_code == 401
    keys = {k for (k,) in await sql(db, "SELECT key FROM login_throttles")}
    assert "login:stale" not in keys and "login:live" in keys


async def test_change_password_needs_the_old_one_and_revokes_older_tokens(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    anna = await make_user("anna")
    headers = await login("anna")
    wrong = await client.post(
        "/api/users/me/password",
        json={"old_password": "not it", "new_password": "a new long password"},
        headers=headers,
    )
    assert wrong.status_code == 403
    short = await client.post(
        "/api/users/me/password", json={"old_password": PASSWORD, "new_password": "short"}, headers=headers
    )
    assert short.status_code == 422
    ok = await client.post(
        "/api/users/me/password",
        json={"old_password": PASSWORD, "new_password": "a new long password"},
        headers=headers,
    )
    assert ok.status_code == 204
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    assert (await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})).status_code == 401
    new_headers = await login("anna", "a new long password")
    assert (await client.get("/api/users/me", headers=new_headers)).status_code == 200
    assert await sql(db, "SELECT actor_id FROM audit_events WHERE action='user.password_changed'") == [(anna.id,)]


async def test_change_password_needs_a_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/users/me/password", json={"old_password": "x", "new_password": "y" * 10})
    assert r.status_code == 401


async def test_register_is_forbidden_unless_signup_is_allowed(client: httpx.AsyncClient, db: AsyncSession) -> None:
    r = await client.post("/api/auth/register", json={"username": "newbie", "password": "long enough pw"})
    assert r.status_code == 403
    assert await sql(db, "SELECT count(*) FROM users") == [(0,)]


async def test_register_when_allowed_makes_a_viewer(app: object, client: httpx.AsyncClient, db: AsyncSession) -> None:
    app.state.settings = app.state.settings.model_copy(update={"allow_signup": True})  # type: ignore[attr-defined]
    r = await client.post(
        "/api/auth/register", json={"username": "newbie", "password": "long enough pw", "email": "n@shop.example"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "viewer"
    assert "password" not in r.text
    dup = await client.post("/api/auth/register", json={"username": "NEWBIE", "password": "long enough pw"})
    assert dup.status_code == 409
    dup_mail = await client.post(
        "/api/auth/register", json={"username": "other", "password": "long enough pw", "email": "N@shop.example"}
    )
    assert dup_mail.status_code == 409
    bad = await client.post("/api/auth/register", json={"username": "x y", "password": "long enough pw"})
    assert bad.status_code == 422
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action='user.registered'") == [(1,)]


async def test_passwords_and_tokens_never_reach_the_log(
    client: httpx.AsyncClient, make_user: MakeUser, caplog: pytest.LogCaptureFixture
) -> None:
    await make_user("anna", password="s3cret-Pa55word!")
    caplog.set_level(logging.DEBUG)
    r = await client.post("/api/auth/token", json={"login": "anna", "password": "s3cret-Pa55word!"})
    token = r.json()["access_token"]
    await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    await client.get(f"/healthz?token={token}")
    await client.post("/api/auth/token", json={"login": "anna", "password": "wrong-Pa55word!"})
    # httpx is the test's own client; everything else is the server's log.
    log = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "s3cret-Pa55word!" not in log and "wrong-Pa55word!" not in log
    assert token not in log and token.split(".")[2] not in log
    assert "/api/auth/token" in log  # the access log itself is there
