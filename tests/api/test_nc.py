"""GET /api/nc/settings: what the browser's NC viewer needs from the server's settings."""

from __future__ import annotations

import httpx

from app.models import Role
from tests.conftest import Login, MakeUser


async def test_any_reader_gets_the_nc_settings(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> None:
    await make_user("vera", Role.viewer)
    r = await client.get("/api/nc/settings", headers=await login("vera"))
    assert r.status_code == 200
    assert r.json() == {
        "extensions": [".nc", ".tap", ".gcode", ".ngc", ".eia", ".mpf", ".h"],
        "rapid_rate_mm_min": 10000.0,
    }


async def test_nc_settings_need_a_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/nc/settings")
    assert r.status_code == 401
    assert "detail" in r.json()
