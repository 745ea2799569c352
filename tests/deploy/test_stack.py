"""The production stack run natively: Nginx (the real nginx.conf) in front of the container's own start
(docker/entrypoint.sh: `alembic upgrade head`, then Gunicorn with the real docker/gunicorn.conf.py and
2 Uvicorn workers), on a real PostgreSQL, exactly as docker-compose.yml wires them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.api.static import CONTENT_SECURITY_POLICY as CSP
from app.core.config import EXAMPLE_SECRET_KEY
from app.models import Role
from app.schemas.user import UserCreate
from tests.conftest import PASSWORD
from tests.db import TEST_APP_ROLE, as_role, create_database, create_users, drop_database, to_asyncpg_dsn
from tests.deploy.native import (
    missing_tool,
    nginx_binary,
    render_nginx_conf,
    run_migrate,
    start_entrypoint,
    start_nginx,
    stop,
    wait_for,
)
from tests.live_server import SECRET_KEY, free_port, server_env
from tests.vault import git

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
# Lower than Nginx's client_max_body_size (2 GiB), so a body over it reaches the app, which must refuse it.
STACK_MAX_UPLOAD = 60 * MiB


@dataclass
class Stack:
    url: str
    workdir: Path
    data_dir: Path
    database_url: str
    gunicorn_pid: int
    web_port: int
    app_port: int

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"


@contextlib.asynccontextmanager
async def _running_stack(server_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    nginx = nginx_binary()
    if nginx is None:
        missing_tool("nginx is not installed (Debian: apt-get install nginx-light)")
    # An empty database: the migrate step (as its owner) has to make every table, as compose's `migrate` service
    # does before the app starts; the app then connects as its own role.
    owner_url = await create_database(server_url, prefix="stack")
    database_url = as_role(owner_url, TEST_APP_ROLE)
    data_dir = tmp_path / "data"
    env = server_env(
        database_url,
        data_dir,
        secret_key=SECRET_KEY,
        max_upload_bytes=STACK_MAX_UPLOAD,
        # Both workers start at once and each would create it: one admin must come out.
        first_admin_username="boss",
        first_admin_password=PASSWORD,
    )
    # Production refuses the test suites' cheap password hashes.
    env.update({"ENV": "production", "SERVE_STATIC": "false", "PASSWORD_HASH_COST": "standard"})
    migrated = run_migrate({**env, "MIGRATION_DATABASE_URL": owner_url}, tmp_path)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    app_port, web_port = free_port(), free_port()
    app = start_entrypoint(env, tmp_path, f"127.0.0.1:{app_port}")
    conf = render_nginx_conf(tmp_path, upstream=f"127.0.0.1:{app_port}", html=ROOT / "app" / "static", port=web_port)
    web = start_nginx(nginx, conf, tmp_path)
    try:
        wait_for(f"http://127.0.0.1:{app_port}/readyz", app, tmp_path / "app.log")
        wait_for(f"http://127.0.0.1:{web_port}/healthz", web, tmp_path / "error.log")
        await create_users(database_url, [UserCreate(username="anna", password=PASSWORD, role=Role.user)])
        yield Stack(f"http://127.0.0.1:{web_port}", tmp_path, data_dir, database_url, app.pid, web_port, app_port)
    finally:
        stop(web)
        stop(app)
        await drop_database(owner_url)


@pytest.fixture(scope="module")
def stack(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that leave it running (starting one costs seconds: migrate, Gunicorn, Nginx).

    Plain (not async) so its event loop is its own: each test runs in a loop of its own.
    """
    runner = asyncio.Runner()
    running = _running_stack(server_url, tmp_path_factory.mktemp("stack"))
    try:
        yield runner.run(running.__aenter__())
    finally:
        runner.run(running.__aexit__(None, None, None))
        runner.close()


@pytest.fixture
async def own_stack(server_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack for a test that ends it."""
    async with _running_stack(server_url, tmp_path) as running:
        yield running


async def _login(client: httpx.AsyncClient, username: str) -> tuple[str, dict[str, str]]:
    r = await client.post("/api/auth/token", json={"login": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    return token, {"Authorization": f"Bearer {token}"}


async def _next_of_type(ws: ClientConnection, kind: str, timeout: float = 10) -> dict[str, object]:
    async with asyncio.timeout(timeout):
        while True:
            message: dict[str, object] = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


def _assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_migrate_then_the_entrypoint_serves_two_workers(stack: Stack) -> None:
    migrate_log = (stack.workdir / "migrate.log").read_text()
    assert "Running upgrade  -> " in migrate_log  # alembic, from the empty database
    assert "migrated as postgres; the app's role camvault_app may read and write rows" in migrate_log
    log = (stack.workdir / "app.log").read_text()
    assert "Running upgrade" not in log  # the app never migrates: it has no owner's password
    assert "Application startup complete" in log
    assert "database check" not in log  # migrated, and connected as a role that cannot drop the audit trigger
    # Everything goes to stdout, as `docker compose logs` expects; nothing to stderr.
    assert (stack.workdir / "app.stderr").read_bytes() == b""
    # Gunicorn's master is the entrypoint's own process (exec), with WEB_CONCURRENCY=2 Uvicorn workers.
    master = psutil.Process(stack.gunicorn_pid)
    assert "gunicorn" in " ".join(master.cmdline())
    assert len(master.children()) == 2
    conn = await asyncpg.connect(to_asyncpg_dsn(stack.database_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
        admins = await conn.fetch("SELECT username FROM users WHERE role = 'admin'")
        assert [r["username"] for r in admins] == ["boss"]
    finally:
        await conn.close()


async def test_ui_static_files_and_proxied_paths_through_nginx(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        page = await client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        _assert_security_headers(page)
        assert '<link rel="stylesheet" href="/css/app.css">' in page.text
        assert '<script type="module" src="/js/main.js">' in page.text
        # Nginx serves the stylesheet from app/static itself, compressed, under the same policy.
        css = await client.get("/css/app.css", headers={"Accept-Encoding": "gzip"})
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert css.headers["content-encoding"] == "gzip"
        assert css.content == (ROOT / "app" / "static" / "css" / "app.css").read_bytes()
        assert "x-request-id" not in css.headers  # from disk, not from the app
        _assert_security_headers(css)
        module = await client.get("/js/main.js")
        assert module.status_code == 200 and "javascript" in module.headers["content-type"]
        assert module.headers["cache-control"] == "no-cache"
        _assert_security_headers(module)
        # A client-side address reloaded in the browser still gets the page (try_files fallback).
        assert (await client.get("/admin/users")).text == page.text

        # Each of these reaches the app (it alone sets X-Request-ID), not the index.html fallback.
        docs = await client.get("/docs")
        # Swagger UI comes from the app, under the UI's own strict policy (one copy of it: Nginx's).
        assert docs.status_code == 200 and docs.headers.get_list("content-security-policy") == [CSP]
        assert docs.headers.get_list("x-frame-options") == ["DENY"]
        assert '<script type="module" src="/docs/docs.js">' in docs.text
        bundle = await client.get("/docs/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
        assert bundle.headers.get_list("content-security-policy") == [CSP]
        openapi = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert openapi.json()["info"]["title"] == "camvault"
        assert openapi.headers["content-encoding"] == "gzip"  # gzip_proxied: the app's JSON too
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await client.get("/readyz", headers={"X-Request-ID": "through-nginx-1"})
        assert ready.json()["checks"] == {"database": "ok", "git": "ok", "git_refs": "ok", "disk": "ok"}
        assert ready.headers["x-request-id"] == "through-nginx-1"
        unauthenticated = await client.get("/api/files")
        assert unauthenticated.status_code == 401 and unauthenticated.headers["content-type"] == "application/json"
        for answer in (docs, openapi, ready, unauthenticated):
            assert answer.headers.get("x-request-id"), answer.url
            assert answer.headers["x-content-type-options"] == "nosniff"

        token, headers = await _login(client, "anna")
        assert (await client.get("/api/users/me", headers=headers)).json()["username"] == "anna"
        # A token in a query string (as a WebSocket may send it) reaches no log.
        await client.get("/api/users/me", params={"token": "query-secret-token"}, headers=headers)

    logs = (stack.workdir / "access.log").read_text() + (stack.workdir / "app.log").read_text()
    assert "query-secret-token" not in logs and token not in logs
    assert "/api/users/me" in (stack.workdir / "access.log").read_text()


def _tree(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


async def test_big_upload_and_download_and_413_through_nginx(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url, timeout=120) as client:
        _, headers = await _login(client, "anna")
        data = os.urandom(50 * MiB)
        up = await client.post(
            "/api/files", files={"files": ("op10.nc", data)}, data={"folder": "jobs"}, headers=headers
        )
        assert up.status_code == 201, up.text
        file_id = up.json()["files"][0]["id"]
        assert up.json()["files"][0]["size"] == len(data)
        down = await client.get(f"/api/files/{file_id}/content", headers=headers)
        assert down.status_code == 200 and len(down.content) == len(data)
        assert hashlib.sha256(down.content).digest() == hashlib.sha256(data).digest()
        part = await client.get(f"/api/files/{file_id}/content", headers=headers | {"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == data[10:20]

        head_before = git(stack.data_dir / "vault.git", "rev-parse", "main")
        # Over the app's MAX_UPLOAD_BYTES but under Nginx's limit: the app refuses it at the first byte
        # over, and its JSON answer comes back through Nginx while the rest of the body is still on its way.
        too_big = await client.post(
            "/api/files", files={"files": ("big.nc", os.urandom(STACK_MAX_UPLOAD + 1))}, headers=headers
        )
        assert too_big.status_code == 413, too_big.text
        assert too_big.headers["content-type"] == "application/json"
        # The app's answer names the file that was too big; Nginx's own 413 (below) cannot.
        assert too_big.json() == {"detail": f"Upload exceeds the limit of {STACK_MAX_UPLOAD} bytes", "file": "big.nc"}
        _assert_security_headers(too_big)
        # Nothing was kept: no file, no commit, no audit row, no temporary file (the app's or Nginx's).
        listing = (await client.get("/api/files", params={"q": "big"}, headers=headers)).json()
        assert listing["items"] == []
        assert git(stack.data_dir / "vault.git", "rev-parse", "main") == head_before
        _, admin = await _login(client, "boss")
        audit = (await client.get("/api/admin/audit", params={"action": "file"}, headers=admin)).json()
        # The stack is shared by this module's tests: others add rows of their own, never one for big.nc.
        targets = [row["target"] for row in audit["items"]]
        assert "jobs/op10.nc" in targets and not [t for t in targets if t.endswith("big.nc")], targets
        assert _tree(stack.data_dir / "tmp") == []
        assert _tree(stack.workdir / "client_body") == []
        # The server is fine afterwards.
        again = await client.get(f"/api/files/{file_id}", headers=headers)
        assert again.status_code == 200 and again.json()["size"] == len(data)

    # A body announced over Nginx's own client_max_body_size is refused by Nginx before the app sees
    # it, in the same JSON shape (raw socket: no client would let us send 3 GiB here).
    with socket.create_connection(("127.0.0.1", stack.web_port), timeout=30) as raw:
        raw.sendall(
            b"POST /api/files HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 3221225472\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"\r\nContent-Type: application/json" in head
    assert b"\r\nX-Content-Type-Options: nosniff" in head
    assert json.loads(body) == {"detail": "Upload exceeds the limit of 2147483648 bytes"}


async def _workers_of(database_url: str, connection_ids: list[str]) -> dict[str, str]:
    """connection id -> the id of the worker process holding that socket (its presence row)."""
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT connection_id, worker_id FROM presence WHERE connection_id = ANY($1::text[])", connection_ids
        )
    finally:
        await conn.close()
    return {r["connection_id"]: r["worker_id"] for r in rows}


async def test_a_websocket_hears_an_event_caused_through_the_other_worker(stack: Stack) -> None:
    """Sockets are opened through Nginx until both Gunicorn workers hold at least one (each worker writes
    its own id into the presence row of every socket it holds). Then whichever worker serves the
    check-out, a socket on the other worker exists, and every socket must hear the event."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
        token, headers = await _login(client, "anna")
        up = await client.post("/api/files", files={"files": ("op20.nc", b"G0 X0\n")}, headers=headers)
        file_id = up.json()["files"][0]["id"]
        sockets: list[ClientConnection] = []
        try:
            holders: dict[str, str] = {}
            while len(set(holders.values())) < 2:
                assert len(sockets) < 40, f"40 sockets, all on one worker: {holders}"
                # Both token forms: the browser's subprotocol and a script's query parameter.
                if len(sockets) % 2:
                    ws = await connect(f"{stack.ws_url}?token={token}", proxy=None)
                else:
                    ws = await connect(stack.ws_url, subprotocols=["camvault.v1", "bearer." + token], proxy=None)  # type: ignore[list-item]
                    assert ws.subprotocol == "camvault.v1"
                sockets.append(ws)
                hello = await _next_of_type(ws, "hello")
                # The row is written before hello is sent.
                holders = await _workers_of(stack.database_url, [*holders, str(hello["connection_id"])])
            assert len(holders) == len(sockets)
            # Two worker ids, two worker processes: Gunicorn runs exactly two.
            assert len(psutil.Process(stack.gunicorn_pid).children()) == 2

            out = await client.post(f"/api/files/{file_id}/checkout", json={"message": "via nginx"}, headers=headers)
            assert out.status_code == 200 and out.json()["lock"]["holder"] == "anna"
            for ws in sockets:
                event = await _next_of_type(ws, "file_locked")
                assert (event["file_id"], event["user"]) == (file_id, "anna")
        finally:
            for ws in sockets:
                await ws.close()


@pytest.mark.parametrize("secret_key", [None, EXAMPLE_SECRET_KEY, "too-short"])
async def test_the_container_refuses_to_start_without_a_real_secret_key(
    server_url: str, tmp_path: Path, secret_key: str | None
) -> None:
    database_url = await create_database(server_url, prefix="nokey")
    try:
        env = server_env(database_url, tmp_path / "data")
        env.pop("SECRET_KEY")
        env.update({"ENV": "production", **({"SECRET_KEY": secret_key} if secret_key else {})})
        app = start_entrypoint(env, tmp_path, f"127.0.0.1:{free_port()}")
        code = await asyncio.to_thread(app.wait, 120)
        log = (tmp_path / "app.log").read_text()
        assert code != 0, log
        assert "SECRET_KEY must be" in log
        assert "Booting worker" not in log
        conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
        try:  # it stopped before migrating anything
            assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        finally:
            await conn.close()
    finally:
        await drop_database(database_url)


async def test_sigterm_lets_a_running_download_finish_and_closes_websockets_for_a_reconnect(own_stack: Stack) -> None:
    """`docker stop` sends SIGTERM to the entrypoint's process, Gunicorn's master: the workers stop taking
    connections, finish what runs (here a download read slowly through Nginx), close WebSockets with 1012
    (service restart, so browsers reconnect), and exit well inside the graceful timeout."""
    stack = own_stack
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
        token, headers = await _login(client, "anna")
        data = os.urandom(32 * MiB)
        up = await client.post("/api/files", files={"files": ("op30.nc", data)}, headers=headers)
        file_id = up.json()["files"][0]["id"]
        ws = await connect(f"{stack.ws_url}?token={token}", proxy=None)
        await _next_of_type(ws, "hello")
        async with client.stream("GET", f"/api/files/{file_id}/content", headers=headers) as download:
            assert download.status_code == 200
            chunks = download.aiter_raw()
            received = bytearray(await anext(chunks))
            assert len(received) < len(data)  # the rest is still on its way
            master = psutil.Process(stack.gunicorn_pid)
            master.terminate()
            # Both workers have begun their shutdown while the download is still open.
            async with asyncio.timeout(20):
                while (stack.workdir / "app.log").read_text().count("Shutting down") < 2:
                    await asyncio.sleep(0.05)
            async for chunk in chunks:
                received += chunk
        assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()
        async with asyncio.timeout(20):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert await asyncio.to_thread(master.wait, 25) == 0
    log = (stack.workdir / "app.log").read_text()
    assert "graceful shutdown exceeded" not in log and "SIGKILL" not in log


async def test_a_file_of_exactly_the_app_limit_passes_nginx_with_its_headroom(stack: Stack) -> None:
    """Nginx counts the whole multipart request; nginx.conf allows 1 MiB over MAX_UPLOAD_BYTES for the framing
    (2049m for 2 GiB). Here a second Nginx applies the same rule to this stack's smaller limit: a file of exactly
    the limit is stored, one byte more is refused by the app (in its own words), not by Nginx."""
    nginx = nginx_binary()
    assert nginx is not None
    workdir = stack.workdir / "nginx-limit"
    workdir.mkdir()
    port = free_port()
    app_port = stack.app_port
    conf = render_nginx_conf(
        workdir,
        upstream=f"127.0.0.1:{app_port}",
        html=ROOT / "app" / "static",
        port=port,
        upload_limit=f"{STACK_MAX_UPLOAD // MiB + 1}m",
    )
    web = start_nginx(nginx, conf, workdir)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", web, workdir / "error.log")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            _, headers = await _login(client, "anna")
            exact = await client.post(
                "/api/files",
                files={"files": ("exact.nc", os.urandom(STACK_MAX_UPLOAD))},
                data={"folder": "jobs", "message": "m" * 3000},
                headers=headers,
            )
            assert exact.status_code == 201, exact.text
            over = await client.post(
                "/api/files", files={"files": ("over.nc", os.urandom(STACK_MAX_UPLOAD + 1))}, headers=headers
            )
            assert over.status_code == 413 and over.json() == {
                "detail": f"Upload exceeds the limit of {STACK_MAX_UPLOAD} bytes",
                "file": "over.nc",
            }
            assert "x-request-id" in over.headers  # the app's answer, not Nginx's
            # A JSON route takes 1 MiB at most: a bigger body never reaches the app.
            big = await client.post(
                "/api/auth/token",
                content=b'{"login": "' + b"a" * (2 * MiB) + b'"}',
                headers={"Content-Type": "application/json"},
            )
            assert big.status_code == 413 and big.json() == {
                "detail": "Request body exceeds the limit of 1048576 bytes"
            }
            assert "x-request-id" not in big.headers
            _assert_security_headers(big)
    finally:
        stop(web)


async def test_nginx_answers_json_when_the_app_is_down(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        missing_tool("nginx is not installed (Debian: apt-get install nginx-light)")
    port = free_port()
    conf = render_nginx_conf(tmp_path, upstream=f"127.0.0.1:{free_port()}", html=ROOT / "app" / "static", port=port)
    web = start_nginx(nginx, conf, tmp_path)
    try:
        wait_for(f"http://127.0.0.1:{port}/", web, tmp_path / "error.log")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for method, path in (("GET", "/api/files"), ("POST", "/api/files"), ("POST", "/api/files/7/checkin")):
                r = await client.request(method, path)
                assert r.status_code == 502, (path, r.text)
                assert r.headers["content-type"] == "application/json"
                assert r.json()["detail"].startswith("camvault is not reachable right now")
                _assert_security_headers(r)
    finally:
        stop(web)
