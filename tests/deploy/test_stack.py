"""The production stack run natively: Nginx (the real nginx.conf) in front of Gunicorn with Uvicorn workers
(the real docker/gunicorn.conf.py), on a real PostgreSQL, exactly as docker-compose.yml wires them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect

from app.core.config import Settings
from app.models import Role
from tests.conftest import MakeUser
from tests.deploy.native import (
    missing_tool,
    nginx_binary,
    render_nginx_conf,
    start_gunicorn,
    start_nginx,
    stop,
    wait_for,
)
from tests.live_server import free_port, server_env

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    url: str
    workdir: Path
    gunicorn_pid: int


@pytest.fixture
def stack(app: object, database_url: str, settings: Settings, tmp_path: Path) -> Iterator[Stack]:
    nginx = nginx_binary()
    if nginx is None:
        missing_tool("nginx is not installed (Debian: apt-get install nginx-light)")
    env = server_env(database_url, settings.data_dir, secret_key=settings.secret_key)
    env.update({"ENV": "production", "SERVE_STATIC": "false"})
    app_port, web_port = free_port(), free_port()
    gunicorn = start_gunicorn(env, tmp_path, f"127.0.0.1:{app_port}")
    conf = render_nginx_conf(tmp_path, upstream=f"127.0.0.1:{app_port}", html=ROOT / "app" / "static", port=web_port)
    web = start_nginx(nginx, conf, tmp_path)
    try:
        wait_for(f"http://127.0.0.1:{app_port}/readyz", gunicorn, tmp_path / "gunicorn.log")
        wait_for(f"http://127.0.0.1:{web_port}/healthz", web, tmp_path / "error.log")
        yield Stack(f"http://127.0.0.1:{web_port}", tmp_path, gunicorn.pid)
    finally:
        stop(web)
        stop(gunicorn)


async def _next_of_type(ws: ClientConnection, kind: str, timeout: float = 5) -> dict[str, object]:
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, object] = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def test_the_stack_serves_ui_api_and_files_through_nginx(stack: Stack, make_user: MakeUser) -> None:
    # Gunicorn runs the configured number of Uvicorn workers (WEB_CONCURRENCY=2).
    assert len(psutil.Process(stack.gunicorn_pid).children()) == 2
    await make_user("anna", Role.user)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        page = await client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert '<script type="module" src="/js/main.js">' in page.text
        module = await client.get("/js/main.js")
        assert module.status_code == 200 and "javascript" in module.headers["content-type"]
        assert module.headers["cache-control"] == "no-cache"
        # A client-side address reloaded in the browser still gets the page (try_files fallback).
        assert (await client.get("/admin/users")).text == page.text
        docs = await client.get("/docs")
        assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
        ready = await client.get("/readyz", headers={"X-Request-ID": "through-nginx-1"})
        assert ready.json()["checks"] == {"database": "ok", "git": "ok"}
        assert ready.headers["x-request-id"] == "through-nginx-1"

        r = await client.post("/api/auth/token", json={"login": "anna", "password": "correct horse battery"})
        token = r.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        data = bytes(range(256)) * 4096  # 1 MiB
        up = await client.post(
            "/api/files", files={"files": ("op10.nc", data)}, data={"folder": "jobs"}, headers=headers
        )
        assert up.status_code == 201, up.text
        file_id = up.json()["files"][0]["id"]
        down = await client.get(f"/api/files/{file_id}/content", headers=headers)
        assert down.status_code == 200 and down.content == data
        part = await client.get(f"/api/files/{file_id}/content", headers=headers | {"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == data[10:20]
        # The WebSocket upgrade passes through Nginx to a Gunicorn worker, and events from any worker reach it.
        ws_url = stack.url.replace("http://", "ws://") + "/ws"
        async with (
            connect(ws_url, subprotocols=["camvault.v1", "bearer." + token], proxy=None) as browser,  # type: ignore[list-item]
            connect(f"{ws_url}?token={token}", proxy=None) as script,
        ):
            assert browser.subprotocol == "camvault.v1"
            for ws in (browser, script):
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
            out = await client.post(f"/api/files/{file_id}/checkout", json={"message": "via nginx"}, headers=headers)
            assert out.status_code == 200 and out.json()["lock"]["holder"] == "anna"
            for ws in (browser, script):
                event = await _next_of_type(ws, "file_locked")
                assert (event["file_id"], event["user"]) == (file_id, "anna")
        # A token in a query string (as a WebSocket may send it) reaches no log.
        await client.get("/api/users/me", params={"token": "query-secret-token"}, headers=headers)

    logs = (stack.workdir / "access.log").read_text() + (stack.workdir / "gunicorn.log").read_text()
    assert "query-secret-token" not in logs and token not in logs
    assert "/api/files" in (stack.workdir / "access.log").read_text()
