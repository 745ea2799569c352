"""MAX_JSON_BODY_BYTES: every body the app would read into memory is refused with 413 past the limit, as it
streams; uploads, check-ins and git fetches keep their own limits. (Memory of a real worker under a 100 MB
body: tests/cluster/test_body_memory.py.)"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.config import Settings
from app.models import Role
from tests.conftest import PASSWORD, MakeUser
from tests.vault import check_in, upload_one

LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_json_body_bytes": LIMIT})


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    """A JSON login sent chunked (no Content-Length), padded with `total` bytes of blanks."""
    yield b'{"login": "anna", "password": "nope-nope"'
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size
    yield b"}"


async def test_a_json_body_over_the_limit_is_413_before_it_is_read(client: httpx.AsyncClient) -> None:
    body = json.dumps({"login": "anna", "password": "x" * (LIMIT + 1)})
    r = await client.post("/api/auth/token", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "MAX_JSON_BODY_BYTES" in r.json()["detail"]


async def test_a_chunked_body_without_length_is_counted_as_it_arrives(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/auth/token", content=_chunks(4 * LIMIT), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "MAX_JSON_BODY_BYTES" in r.json()["detail"]


async def test_a_body_under_the_limit_is_read_as_before(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await make_user("anna")
    padded = json.dumps({"login": "anna", "password": PASSWORD}) + " " * (LIMIT - 100)  # JSON allows the blanks
    r = await client.post("/api/auth/token", content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    wrong = await client.post(
        "/api/auth/token", content=_chunks(LIMIT // 2), headers={"Content-Type": "application/json"}
    )
    assert wrong.status_code == 401


async def test_forms_and_every_json_route_share_the_limit(
    client: httpx.AsyncClient, make_user: MakeUser, login: object
) -> None:
    await make_user("anna")
    form = await client.post("/api/auth/login", data={"username": "anna", "password": "x" * (2 * LIMIT)})
    assert form.status_code == 413
    headers = await login("anna")  # type: ignore[operator]
    big = {"message": "x" * (2 * LIMIT)}
    for path in ("/api/files/1/checkout", "/api/users/me/access-tokens", "/git/vault.git/info/lfs/locks"):
        r = await client.post(path, json=big, headers=headers)
        assert r.status_code == 413, (path, r.status_code, r.text)


async def test_uploads_and_check_ins_keep_their_own_limit(
    client: httpx.AsyncClient, make_user: MakeUser, login: object
) -> None:
    await make_user("anna", Role.user)
    headers = await login("anna")  # type: ignore[operator]
    content = bytes(range(256)) * (4 * LIMIT // 256)
    f = await upload_one(client, headers, "big.nc", content)
    assert f["size"] == len(content)
    r = await client.post(f"/api/files/{f['id']}/checkout", json={"message": "edit"}, headers=headers)
    assert r.status_code == 200, r.text
    r = await check_in(client, headers, f["id"], content + b"more")
    assert r.status_code == 200, r.text
    assert r.json()["file"]["size"] == len(content) + 4


async def test_a_git_fetch_body_streams_to_git_past_the_limit(client: httpx.AsyncClient, make_user: MakeUser) -> None:
    await make_user("anna")
    basic = "Basic " + base64.b64encode(f"anna:{PASSWORD}".encode()).decode()
    # Not a valid request for git, but long: what matters is that it reaches git instead of a 413.
    wants = b"".join(b"0032want " + b"%040x" % i + b"\n" for i in range(2 * LIMIT // 50)) + b"00000009done\n"
    r = await client.post(
        "/git/vault.git/git-upload-pack",
        content=wants,
        headers={"Authorization": basic, "Content-Type": "application/x-git-upload-pack-request"},
    )
    assert len(wants) > LIMIT
    assert r.status_code == 200, r.text
