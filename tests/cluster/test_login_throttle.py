"""The failed-login throttle across two real worker processes: check-and-count is one step, so concurrent wrong
passwords for one account get no more password checks than the limit, whichever worker and login they use."""

from __future__ import annotations

import asyncio
import base64

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import PASSWORD, MakeUser, sql
from tests.live_server import LiveServer

ATTEMPTS = 20


async def _checked(db: AsyncSession) -> int:
    [(count,)] = await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'auth.login_failed'")
    return int(count)  # type: ignore[call-overload]


async def test_twenty_concurrent_wrong_passwords_on_two_workers_get_five_checks(
    workers: list[LiveServer], make_user: MakeUser, db: AsyncSession, settings: Settings
) -> None:
    await make_user("anna", Role.user, email="anna@example.com")
    limit = settings.login_max_failures_per_user
    clients = [httpx.AsyncClient(base_url=w.url, timeout=60) for w in workers]
    try:
        # Half by username, half by email, alternating workers: one account, one counter.
        results = await asyncio.gather(
            *(
                clients[i % 2].post(
                    "/api/auth/token",
                    json={"login": "anna" if i % 4 < 2 else "Anna@Example.com", "password": f"wrong {i}"},
                )
                for i in range(ATTEMPTS)
            )
        )
        codes = sorted(r.status_code for r in results)
        assert codes == [401] * limit + [429] * (ATTEMPTS - limit), codes
        assert await _checked(db) == limit  # each 401 was one password check, and audited
        assert all(int(r.headers["retry-after"]) > 0 for r in results if r.status_code == 429)
        for client in clients:  # the right password waits too, on either worker
            r = await client.post("/api/auth/token", json={"login": "anna", "password": PASSWORD})
            assert r.status_code == 429
    finally:
        for client in clients:
            await client.aclose()


async def test_git_basic_auth_shares_the_count_under_concurrency(
    workers: list[LiveServer], make_user: MakeUser, db: AsyncSession, settings: Settings
) -> None:
    await make_user("bob", Role.user, email="bob@example.com")
    limit = settings.login_max_failures_per_user

    def basic(login: str, secret: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{login}:{secret}".encode()).decode()}

    clients = [httpx.AsyncClient(base_url=w.url, timeout=60) for w in workers]
    try:
        web = [clients[0].post("/api/auth/token", json={"login": "bob", "password": f"web {i}"}) for i in range(5)]
        git = [
            clients[i % 2].get(
                "/git/vault.git/info/refs?service=git-upload-pack",
                headers=basic("bob" if i % 2 else "bob@example.com", f"git {i}"),
            )
            for i in range(ATTEMPTS - 5)
        ]
        results = await asyncio.gather(*web, *git)
        checked = [r for r in results if r.status_code == 401]
        assert len(checked) == limit, sorted(r.status_code for r in results)
        assert all(r.status_code == 429 for r in results if r.status_code != 401)
        assert await _checked(db) == limit
    finally:
        for client in clients:
            await client.aclose()
