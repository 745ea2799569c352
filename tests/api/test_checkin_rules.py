"""Safer check-ins: the allow-list and the file's own type hold for new versions; an empty file is a warning."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.vault import check_in, git, upload, upload_one

Headers = dict[str, str]


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> Headers:
    await make_user("anna", Role.user)
    return await login("anna")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("setup-sheet.pdf", "'setup-sheet.pdf' is a .pdf, but 'cell/OP20.nc' is a .nc file"),
        ("virus.exe", "File type .exe is not allowed"),
        ("noextension", "File type (none) is not allowed"),
        ("OP20.tap", "'OP20.tap' is a .tap, but 'cell/OP20.nc' is a .nc file"),
    ],
)
async def test_a_new_version_keeps_its_type_and_the_allow_list(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession, settings: Settings, name: str, reason: str
) -> None:
    file = await upload_one(client, anna, "cell/OP20.nc", b"G0\n")
    assert (await client.post(f"/api/files/{file['id']}/checkout", json={}, headers=anna)).status_code == 200
    repo: Path = settings.data_dir / "vault.git"
    head = git(repo, "rev-parse", "main")
    r = await check_in(client, anna, file["id"], b"%PDF-1.4\n", name=name)
    assert r.status_code == 415, r.text
    assert reason in r.json()["detail"]
    # Nothing changed: no version, no commit, still checked out.
    assert git(repo, "rev-parse", "main") == head
    after = (await client.get(f"/api/files/{file['id']}", headers=anna)).json()
    assert after["version"] == 1 and after["lock"]["holder"] == "anna"
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action LIKE 'lock.checkin%'") == [(0,)]
    # The same file in any case of its extension is fine.
    r = await check_in(client, anna, file["id"], b"G1\n", name="op20-edited.NC")
    assert r.status_code == 200 and r.json()["new_version"] is True, r.text


async def test_an_empty_upload_or_check_in_is_stored_with_a_warning(client: httpx.AsyncClient, anna: Headers) -> None:
    r = await upload(client, anna, {"OP10.nc": b"", "OP20.nc": b"G0\n"})
    assert r.status_code == 201, r.text
    assert r.json()["warnings"] == [
        {
            "code": "empty_file",
            "file": "OP10.nc",
            "message": "OP10.nc is empty (0 bytes); if that is not what you meant, check the export and check in again",
        }
    ]
    full = next(f for f in r.json()["files"] if f["path"] == "OP20.nc")
    assert (await client.post(f"/api/files/{full['id']}/checkout", json={}, headers=anna)).status_code == 200
    r = await check_in(client, anna, full["id"], b"")
    assert r.status_code == 200 and r.json()["new_version"] is True
    assert [w["code"] for w in r.json()["warnings"]] == ["empty_file"]
    assert r.json()["file"]["size"] == 0
    got = await client.get(f"/api/files/{full['id']}/content", headers=anna)
    assert got.status_code == 200 and got.content == b""
    ok = await upload(client, anna, {"OP30.nc": b"G0\n"})
    assert ok.json()["warnings"] == []
