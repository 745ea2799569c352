from __future__ import annotations

import logging

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app


async def test_healthz_answers_without_a_database(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "git": "ok", "git_refs": "ok", "disk": "ok"}


async def test_readyz_is_503_when_the_git_store_is_gone(client: httpx.AsyncClient, settings: Settings) -> None:
    repo = settings.data_dir / "vault.git"
    repo.rename(repo.with_name("moved-away.git"))
    try:
        r = await client.get("/readyz")
    finally:
        repo.with_name("moved-away.git").rename(repo)
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "git": "unavailable", "git_refs": "ok", "disk": "ok"}
    assert (await client.get("/readyz")).status_code == 200


async def test_readyz_is_503_when_the_database_is_unreachable(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The worker serves once its connect timeout (10 s by default) is over; /readyz then reports the database.
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    broken = settings.model_copy(update={"database_url": unreachable, "database_connect_timeout_seconds": 0.2})
    app = create_app(broken)
    logging.getLogger().addHandler(caplog.handler)  # create_app set the root logger's handlers anew
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == "unavailable"
    assert "event listener not connected after 0.2s" in caplog.text


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = (await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})).headers["x-request-id"]
    assert made != "bad id with spaces" and len(made) == 32
