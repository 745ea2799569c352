"""Input that reached the database and came back as 500s when the API was fuzzed: each is now a 4xx that
changes nothing. (Found with schemathesis against /openapi.json.)"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role, User
from tests.conftest import Login, MakeUser, sql
from tests.vault import upload, upload_one

Admin = tuple[User, dict[str, str]]
HUGE = [2**31, 2**63, 10**30, -1]


@pytest.fixture
async def writer(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("anna", Role.user)
    return await login("anna")


@pytest.mark.parametrize("number", HUGE)
async def test_ids_and_versions_beyond_the_database_are_422(
    client: httpx.AsyncClient, admin: Admin, writer: dict[str, str], number: int
) -> None:
    _, boss = admin
    f = await upload_one(client, writer, "a.nc", b"a")
    calls = [
        ("GET", f"/api/files/{number}"),
        ("GET", f"/api/files/{number}/content"),
        ("GET", f"/api/files/{f['id']}/content?version={number}"),
        ("GET", f"/api/files/{f['id']}/diff?from={number}"),
        ("GET", f"/api/files/{f['id']}/blame?version={number}"),
        ("POST", f"/api/files/{number}/checkout"),
        ("POST", f"/api/files/{number}/renew"),
        ("POST", f"/api/files/{number}/restore"),
        ("DELETE", f"/api/files/{number}"),
        ("GET", f"/api/admin/users/{number}"),
        ("POST", f"/api/admin/users/{number}/release-locks"),
        ("GET", f"/api/admin/users?offset={number}"),
    ]
    for method, url in calls:
        r = await client.request(method, url, headers=boss, json={} if method == "POST" else None)
        assert r.status_code == 422, (method, url, r.status_code, r.text)


async def test_nul_characters_are_refused_before_anything_is_written(
    client: httpx.AsyncClient, admin: Admin, writer: dict[str, str], db: AsyncSession, settings: object
) -> None:
    _, boss = admin
    assert (await client.post("/api/auth/token", json={"login": "an\x00na", "password": "x"})).status_code == 422
    form = await client.post("/api/auth/login", data={"username": "an\x00na", "password": "x"})
    assert form.status_code == 400 and "NUL" in form.json()["detail"]
    for params in ({"q": "a\x00"}, {"holder": "a\x00"}):
        assert (await client.get("/api/files", params=params, headers=writer)).status_code == 422
    assert (await client.get("/api/files/by-path", params={"path": "a\x00.nc"}, headers=writer)).status_code == 422
    for params in ({"actor": "x\x00"}, {"action": "x\x00"}, {"target": "x\x00"}):
        assert (await client.get("/api/admin/audit", params=params, headers=boss)).status_code == 422
    assert (await client.get("/api/admin/users", params={"q": "\x00"}, headers=boss)).status_code == 422
    created = await client.post(
        "/api/admin/users", json={"username": "cam", "password": "long enough pw", "full_name": "C\x00"}, headers=boss
    )
    assert created.status_code == 422

    r = await upload(client, writer, {"op.nc": b"G0\n"}, message="first\x00cut")
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
    assert await sql(db, "SELECT count(*) FROM files") == [(0,)]
    f = await upload_one(client, writer, "op.nc", b"G0\n")
    out = await client.post(f"/api/files/{f['id']}/checkout", json={"message": "why\x00"}, headers=writer)
    assert out.status_code == 422
    assert await sql(db, "SELECT count(*) FROM locks") == [(0,)]


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "values"),
    [
        ("/api/files", ["a.nc", 2**70]),
        ("/api/files", [["nested"], 1]),
        ("/api/files", ["a\x00", 1]),
        ("/api/files?sort=size", ["big", 1]),
        ("/api/files?sort=size", [True, 1]),
        ("/api/files?sort=updated", ["yesterday", 1]),
        ("/api/files?sort=updated", ["2026-01-01T00:00:00", 1]),  # no time zone
        ("/api/files", {"not": "a list"}),
        ("/api/admin/audit", ["2026-01-01T00:00:00+00:00", 2**64]),
        ("/api/admin/audit", [1, 2]),
    ],
)
async def test_forged_cursors_are_400(client: httpx.AsyncClient, admin: Admin, url: str, values: object) -> None:
    _, boss = admin
    sep = "&" if "?" in url else "?"
    r = await client.get(f"{url}{sep}cursor={_cursor(values)}", headers=boss)
    assert r.status_code == 400, r.text
    assert r.json() == {"detail": "Invalid cursor"}


async def test_history_cursor_is_checked(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    f = await upload_one(client, writer, "a.nc", b"a")
    for values in ([2**70], ["3"], [1, 2]):
        r = await client.get(f"/api/files/{f['id']}/versions", params={"cursor": _cursor(values)}, headers=writer)
        assert r.status_code == 400, r.text


async def test_an_unexpected_error_is_a_json_500_naming_the_request_id(app: FastAPI, client: httpx.AsyncClient) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/broken", broken)
    # Ahead of the UI's catch-all static mount at "/", which would answer 404 first.
    app.router.routes.insert(0, app.router.routes.pop())
    r = await client.get("/test-only/broken", headers={"X-Request-ID": "req-500-check"})
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal server error", "request_id": "req-500-check"}
    assert r.headers["x-request-id"] == "req-500-check"
