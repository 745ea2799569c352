"""Git smart HTTP at the protocol level (the real git client is in tests/interop)."""

from __future__ import annotations

import base64
import gzip

import httpx
import pytest

from app.models import Role
from tests.conftest import PASSWORD, Login, MakeUser
from tests.vault import upload_one

REFS = "/git/vault.git/info/refs"
UPLOAD = "/git/vault.git/git-upload-pack"


def basic(login: str = "anna", secret: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{secret}".encode()).decode()}


def pkt(line: str) -> bytes:
    return f"{len(line) + 4:04x}{line}".encode()


@pytest.fixture
async def vault(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> None:
    await make_user("anna", Role.user)
    await upload_one(client, await login("anna"), "jobs/op10.nc", b"G0 X0\n")


async def test_the_advertisement_needs_basic_credentials(client: httpx.AsyncClient, vault: None) -> None:
    r = await client.get(REFS, params={"service": "git-upload-pack"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Basic realm="camvault"')
    r = await client.get(REFS, params={"service": "git-upload-pack"}, headers=basic(secret="wrong password"))
    assert r.status_code == 401


async def test_the_advertisement_is_protocol_v0_even_when_v2_is_asked(client: httpx.AsyncClient, vault: None) -> None:
    # v2 would serve any object by its id, reachable from the branch or not; v0 serves only the branch's history.
    for asked in ({}, {"Git-Protocol": "version=2"}):
        r = await client.get(REFS, params={"service": "git-upload-pack"}, headers=basic() | asked)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/x-git-upload-pack-advertisement"
        assert "no-cache" in r.headers["cache-control"]
        assert r.content.startswith(b"001e# service=git-upload-pack\n0000")
        assert b" refs/heads/main" in r.content and b"HEAD" in r.content
        assert b"version 2" not in r.content


@pytest.mark.parametrize("gzipped", [False, True])
async def test_a_fetch_request_plain_or_gzipped(client: httpx.AsyncClient, vault: None, gzipped: bool) -> None:
    refs = await client.get(REFS, params={"service": "git-upload-pack"}, headers=basic())
    head = refs.content.split(b"0000", 1)[1][4:44].decode()
    body = pkt(f"want {head} no-progress\n") + b"0000" + pkt("done\n")
    headers = basic() | {"Content-Type": "application/x-git-upload-pack-request", "Git-Protocol": "version=2"}
    if gzipped:
        body, headers = gzip.compress(body), headers | {"Content-Encoding": "gzip"}
    r = await client.post(UPLOAD, content=body, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-git-upload-pack-result"
    assert r.content.startswith(b"0008NAK\n") and r.content[8:12] == b"PACK"


async def test_bad_fetch_requests_are_refused_before_git_runs(client: httpx.AsyncClient, vault: None) -> None:
    r = await client.post(UPLOAD, content=b"0000", headers=basic() | {"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await client.post(
        UPLOAD,
        content=b"0000",
        headers=basic() | {"Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "br"},
    )
    assert r.status_code == 415
    assert (await client.post(UPLOAD, content=b"0000")).status_code == 401
    r = await client.get(REFS, headers=basic())
    assert r.status_code == 400 and "smart HTTP" in r.json()["detail"]


async def test_push_is_refused_with_an_err_packet(client: httpx.AsyncClient) -> None:
    r = await client.get(REFS, params={"service": "git-receive-pack"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-git-receive-pack-advertisement"
    service, rest = r.content.split(b"0000", 1)
    assert service == b"001f# service=git-receive-pack\n"
    assert rest[4:].startswith(b"ERR camvault does not accept git push") and int(rest[:4], 16) == len(rest)
    r = await client.post("/git/vault.git/git-receive-pack", content=b"0000")
    assert r.status_code == 403 and b"ERR camvault does not accept git push" in r.content
