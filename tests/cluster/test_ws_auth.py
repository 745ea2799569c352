"""/ws authentication: checked before accept, 1008 for every bad token, tokens never logged,
and a socket does not outlive its token (logout, deactivation, password change, expiry)."""

from __future__ import annotations

import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import MakeUser, StartWorkers, sql
from tests.realtime import bearer, joined, mint_token, token_for, ws_connect


async def test_missing_forged_expired_revoked_and_inactive_tokens_close_with_1008(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    [a] = start_workers(1)
    anna = await make_user("anna", Role.user)
    gone = await make_user("gone", Role.user)
    await make_user("boss", Role.admin)
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        logged_out = await token_for(a, "anna")
        assert (await http.post("/api/auth/logout", headers=bearer(logged_out))).status_code == 204
        old_password = await token_for(a, "anna")
        fresh = await token_for(a, "anna")
        r = await http.post(
            "/api/users/me/password",
            json={"old_password": "correct horse battery", "new_password": "a brand new secret"},
            headers=bearer(fresh),
        )
        assert r.status_code == 204, r.text
        inactive = await token_for(a, "gone")
        boss = await token_for(a, "boss")
        r = await http.post(f"/api/admin/users/{gone.id}/deactivate", headers=bearer(boss))
        assert r.status_code == 200, r.text

    cases = {
        "missing": (None, "Not authenticated"),
        "garbage": ("not-a-token", "Invalid or expired token"),
        "forged": (mint_token(anna.id, secret="someone-elses-key-" + "y" * 32), "Invalid or expired token"),
        "expired": (mint_token(anna.id, expires_in=-5), "Invalid or expired token"),
        "logged out": (logged_out, "Token has been revoked"),
        "password changed": (old_password, "Token has been revoked"),
        "inactive user": (inactive, "User is inactive or no longer exists"),
        "unknown user": (mint_token(99_999), "User is inactive or no longer exists"),
    }
    for name, (token, reason) in cases.items():
        for via in ("protocol", "query"):
            async with ws_connect(a, token, via=via) as client:
                # A browser offering ["camvault.v1", "bearer.<token>"] drops a connection whose
                # answer names no offered protocol, and would then see 1006, not 1008.
                assert client.ws.subprotocol == "camvault.v1", (name, via)
                assert await client.closed() == (1008, reason), (name, via)
                assert client.seen == [], "a refused socket is sent nothing"


async def test_browser_and_query_forms_both_open_a_socket(start_workers: StartWorkers, make_user: MakeUser) -> None:
    [a] = start_workers(1)
    await make_user("anna", Role.user)
    token = await token_for(a, "anna")
    for via in ("protocol", "query"):
        async with joined(a, token, via=via) as client:
            hello = client.seen[0]
            assert hello["you"]["username"] == "anna"
            assert client.ws.subprotocol == "camvault.v1"


async def test_tokens_never_reach_the_log_even_at_debug_level(start_workers: StartWorkers, make_user: MakeUser) -> None:
    # --log-level debug makes the websockets library under Uvicorn log every handshake line and
    # header, Sec-WebSocket-Protocol (with the bearer token) included: the hardest case.
    [a] = start_workers(1, log_level="DEBUG", uvicorn_args=("--log-level", "debug"))
    anna = await make_user("anna", Role.user)
    good = await token_for(a, "anna")
    forged = mint_token(anna.id, secret="someone-elses-key-" + "y" * 32)
    for via in ("protocol", "query"):
        async with joined(a, good, via=via) as client:
            await client.send({"type": "ping"})
            await client.expect("pong")
        async with ws_connect(a, forged, via=via) as client:
            assert (await client.closed())[0] == 1008
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        assert (await http.get("/api/users/me", headers=bearer(good))).status_code == 200

    deadline = time.monotonic() + 10
    while a.log().count("socket closed user=anna") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    log = a.log()
    assert log.count("socket closed user=anna") == 2, log[-3000:]
    # The handshakes really were logged at debug level, with the secrets taken out.
    assert "bearer.[redacted]" in log and "token=[redacted]" in log
    for token in (good, forged):
        signature = token.rsplit(".", 1)[1]
        assert token not in log
        assert signature not in log


async def test_logout_closes_the_sockets_of_that_token_only(start_workers: StartWorkers, make_user: MakeUser) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    laptop, workshop = await token_for(a, "anna"), await token_for(b, "anna")
    async with joined(a, laptop) as on_laptop, joined(b, workshop) as in_workshop:
        async with httpx.AsyncClient(base_url=b.url, timeout=30) as http:
            assert (await http.post("/api/auth/logout", headers=bearer(laptop))).status_code == 204
        assert await on_laptop.closed(timeout=2) == (1008, "logged out")
        await in_workshop.send({"type": "ping", "id": "still-here"})
        await in_workshop.expect("pong", id="still-here")


async def test_deactivating_a_user_closes_their_sockets_everywhere(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    a, b = start_workers(2)
    bob = await make_user("bob", Role.user)
    await make_user("boss", Role.admin)
    boss = await token_for(a, "boss")
    async with (
        joined(a, boss) as watcher,
        joined(a, await token_for(a, "bob")) as bob_a,
        joined(b, await token_for(b, "bob")) as bob_b,
        httpx.AsyncClient(base_url=b.url, timeout=30) as http,
    ):
        r = await http.post(f"/api/admin/users/{bob.id}/deactivate", headers=bearer(boss))
        assert r.status_code == 200, r.text
        assert await bob_a.closed(timeout=2) == (1008, "account deactivated")
        assert await bob_b.closed(timeout=2) == (1008, "account deactivated")
        left = await watcher.expect("user_disconnected", user="bob", timeout=2)
        assert "bob" not in {u["username"] for u in left["online_users"]}


async def test_a_socket_closes_when_its_token_expires(start_workers: StartWorkers, make_user: MakeUser) -> None:
    [a] = start_workers(1)
    anna = await make_user("anna", Role.user)
    short = mint_token(anna.id, expires_in=2)
    async with joined(a, short) as client:
        assert await client.closed(timeout=4) == (1008, "token expired")


async def test_a_logout_missed_while_the_listener_was_down_still_closes_the_socket(
    start_workers: StartWorkers, make_user: MakeUser, db: AsyncSession
) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    token = await token_for(a, "anna")
    async with joined(a, token) as client, httpx.AsyncClient(base_url=b.url, timeout=30) as http:
        # Freeze A, end its LISTEN session, and log out while A cannot hear it.
        a.pause()
        try:
            [(ended,)] = await sql(
                db,
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = :n",
                n=f"camvault-events:{a.pid}",
            )
            assert ended is True
            assert (await http.post("/api/auth/logout", headers=bearer(token))).status_code == 204
        finally:
            a.resume()
        # A reconnects, checks every open socket's token again, and finds this one revoked.
        assert await client.closed(timeout=5) == (1008, "Token has been revoked")
