"""Download links: a browser streams a download to disk through a plain link, without a bearer header."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from app.core.config import Settings
from app.core.security import create_download_token
from app.models import Role
from tests.conftest import Login, MakeUser
from tests.vault import new_version, upload_one


async def _link(client: httpx.AsyncClient, headers: dict[str, str], file_id: object, **params: object) -> str:
    r = await client.post(f"/api/files/{file_id}/download-link", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["url"])


async def test_a_link_downloads_the_file_without_a_bearer_token(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login
) -> None:
    await make_user("anna", Role.user)
    await make_user("vic", Role.user)
    anna, vic = await login("anna"), await login("vic")
    f = await upload_one(client, anna, "jobs/op10.nc", b"version one\n")
    await new_version(client, anna, f["id"], b"version two\n")

    # Any reader gets links (a viewer's read released revisions only: tests/api/test_floor_visibility.py).
    latest = await _link(client, vic, f["id"])
    assert latest.startswith(f"/api/files/{f['id']}/content?dl=")
    r = await client.get(latest)
    assert r.status_code == 200 and r.content == b"version two\n"
    assert r.headers["content-disposition"].startswith('attachment; filename="op10.nc"')

    first = await client.get(await _link(client, vic, f["id"], version=1))
    assert first.status_code == 200 and first.content == b"version one\n"
    ranged = await client.get(latest, headers={"Range": "bytes=0-6"})
    assert ranged.status_code == 206 and ranged.content == b"version"


async def test_a_link_is_for_one_file_only_and_never_a_bearer_token(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login
) -> None:
    await make_user("anna", Role.user)
    anna = await login("anna")
    a = await upload_one(client, anna, "a.nc", b"a")
    b = await upload_one(client, anna, "b.nc", b"b")
    token = parse_qs(urlsplit(await _link(client, anna, a["id"])).query)["dl"][0]

    r = await client.get(f"/api/files/{b['id']}/content", params={"dl": token})
    assert r.status_code == 401 and r.json() == {"detail": "Invalid or expired download link"}
    r = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    r = await client.get(f"/api/files/{a['id']}/content", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    # Nor is an access token a download token.
    access = anna["Authorization"].removeprefix("Bearer ")
    r = await client.get(f"/api/files/{a['id']}/content", params={"dl": access})
    assert r.status_code == 401
    assert (await client.get(f"/api/files/{a['id']}/content")).status_code == 401


async def test_expired_revoked_and_unknown_links_are_refused(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, settings: Settings
) -> None:
    user = await make_user("anna", Role.user)
    anna = await login("anna")
    f = await upload_one(client, anna, "a.nc", b"a")
    expired, _ = create_download_token(user.id, user.token_version, int(f["id"]), settings.jwt_secret, -5)
    r = await client.get(f"/api/files/{f['id']}/content", params={"dl": expired})
    assert r.status_code == 401
    forged, _ = create_download_token(user.id, user.token_version, int(f["id"]), "another-key-" + "x" * 32, 60)
    assert (await client.get(f"/api/files/{f['id']}/content", params={"dl": forged})).status_code == 401

    link = await _link(client, anna, f["id"])
    assert (await client.get(link)).status_code == 200
    # A password change ends every token issued before it, links included.
    r = await client.post(
        "/api/users/me/password",
        json={"old_password": "correct horse battery", "new_password": "a new long password"},
        headers=anna,
    )
    assert r.status_code == 204
    r = await client.get(link)
    assert r.status_code == 401 and r.json() == {"detail": "Download link has been revoked"}

    assert (
        await client.post("/api/files/999999/download-link", headers=await login("anna", "a new long password"))
    ).status_code == 404
    assert (await client.post(f"/api/files/{f['id']}/download-link")).status_code == 401
