"""Where-used links and the part packet through the API: Uses / Used by, renames and deletes, the obsolete
refusal, roles, audit; the packet's grouping and its zip, streamed."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.vault import release, transition, upload, upload_one

Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"edit_cooldown_seconds": 0})


@pytest.fixture
async def people(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> dict[str, Headers]:
    for name, role in (("anna", Role.user), ("boss", Role.admin), ("olaf", Role.viewer)):
        await make_user(name, role)
    return {name: await login(name) for name in ("anna", "boss", "olaf")}


async def links(client: httpx.AsyncClient, who: Headers, file_id: object) -> dict[str, Any]:
    r = await client.get(f"/api/files/{file_id}/links", headers=who)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_uses_and_used_by_survive_renames_and_deletes(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    anna, boss = people["anna"], people["boss"]
    program = await upload_one(client, anna, "jobs/4711/op10.nc", b"G0\n")
    sheet = await upload_one(client, anna, "jobs/4711/setup.pdf", b"%PDF\n")
    fixture = await upload_one(client, anna, "fixtures/vise.step", b"ISO-10303\n")

    r = await client.post(f"/api/files/{program['id']}/links", json={"target_id": sheet["id"]}, headers=anna)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/files/{program['id']}/links",
        json={"target_path": "FIXTURES/vise.step", "note": "soft jaws"},
        headers=anna,
    )
    assert r.status_code == 201, r.text
    assert [(u["file"]["path"], u["note"]) for u in r.json()["uses"]] == [
        ("fixtures/vise.step", "soft jaws"),
        ("jobs/4711/setup.pdf", ""),
    ]
    again = await client.post(f"/api/files/{program['id']}/links", json={"target_id": sheet["id"]}, headers=anna)
    assert again.status_code == 409
    self_link = await client.post(f"/api/files/{program['id']}/links", json={"target_id": program["id"]}, headers=anna)
    assert self_link.status_code == 400
    nowhere = await client.post(f"/api/files/{program['id']}/links", json={"target_path": "x/y.nc"}, headers=anna)
    assert nowhere.status_code == 404
    viewer = await client.post(
        f"/api/files/{program['id']}/links", json={"target_id": sheet["id"]}, headers=people["olaf"]
    )
    assert viewer.status_code == 403

    used_by = (await links(client, anna, fixture["id"]))["used_by"]
    assert [u["file"]["path"] for u in used_by] == ["jobs/4711/op10.nc"]

    # A rename of either end keeps the link; a deleted target shows as deleted.
    assert (
        await client.post(f"/api/files/{fixture['id']}/move", json={"path": "fixtures/vise-v2.step"}, headers=anna)
    ).status_code == 200
    assert (
        await client.post("/api/folders/move", json={"path": "jobs/4711", "to": "archive/4711"}, headers=anna)
    ).status_code == 200
    assert (await client.delete(f"/api/files/{sheet['id']}", headers=boss)).status_code == 200
    uses = {u["file"]["path"]: u["file"]["deleted"] for u in (await links(client, anna, program["id"]))["uses"]}
    assert uses == {"fixtures/vise-v2.step": False, "archive/4711/setup.pdf": True}
    assert [u["file"]["path"] for u in (await links(client, anna, fixture["id"]))["used_by"]] == [
        "archive/4711/op10.nc"
    ]

    link_id = next(
        u["id"] for u in (await links(client, anna, program["id"]))["uses"] if u["file"]["id"] == sheet["id"]
    )
    assert (
        await client.delete(f"/api/files/{program['id']}/links/{link_id}", headers=people["olaf"])
    ).status_code == 403
    r = await client.delete(f"/api/files/{program['id']}/links/{link_id}", headers=anna)
    assert r.status_code == 200 and [u["file"]["id"] for u in r.json()["uses"]] == [fixture["id"]]

    rows = await sql(
        db, "SELECT action, file_id, target, details FROM audit_events WHERE action LIKE 'link.%' ORDER BY id"
    )
    assert [(a, f) for a, f, _, _ in rows] == [
        ("link.added", program["id"]),
        ("link.added", program["id"]),
        ("link.removed", program["id"]),
    ]
    assert rows[1][3]["note"] == "soft jaws" and rows[1][3]["target"] == "fixtures/vise.step"


async def test_obsoleting_a_file_a_released_file_uses_is_refused_naming_them(
    client: httpx.AsyncClient, people: dict[str, Headers]
) -> None:
    anna, boss = people["anna"], people["boss"]
    program = await upload_one(client, anna, "jobs/op10.nc", b"G0\n")
    draft = await upload_one(client, anna, "jobs/op20.nc", b"G0\n")
    sheet = await upload_one(client, anna, "jobs/setup.pdf", b"%PDF\n")
    for source in (program, draft):
        r = await client.post(f"/api/files/{source['id']}/links", json={"target_id": sheet["id"]}, headers=anna)
        assert r.status_code == 201
    await release(client, anna, boss, sheet["id"])
    # Only work in progress uses it: it may go.
    assert (await transition(client, boss, sheet["id"], "obsolete", "superseded")).status_code == 200
    assert (await transition(client, boss, sheet["id"], "reinstate", "back")).status_code == 200

    await release(client, anna, boss, program["id"])
    r = await transition(client, boss, sheet["id"], "obsolete", "superseded")
    assert r.status_code == 409, r.text
    assert r.json()["detail"]["used_by"] == ["jobs/op10.nc"]
    meta = (await client.get(f"/api/files/{sheet['id']}", headers=anna)).json()
    assert meta["state"] == "released"


async def test_the_packet_lists_the_part_grouped_and_zips_it_streamed(
    client: httpx.AsyncClient, people: dict[str, Headers], settings: Settings
) -> None:
    anna, boss = people["anna"], people["boss"]
    r = await upload(
        client,
        anna,
        {"op20.nc": b"G1 X20\n", "op10.nc": b"G1 X10\n", "setup.pdf": b"%PDF sheet\n", "part.step": b"ISO step\n"},
        folder="customers/ACME/4711",
    )
    assert r.status_code == 201, r.text
    ids = {f["path"].rsplit("/", 1)[-1]: f["id"] for f in r.json()["files"]}
    other = await upload_one(client, anna, "customers/ACME/4712/op10.nc", b"G0\n")
    r = await client.patch(
        "/api/folders/card",
        params={"path": "customers/ACME/4711"},
        json={"values": {"part_number": "4711-A"}},
        headers=anna,
    )
    assert r.status_code == 200
    for name, op in (("op10.nc", "OP10"), ("op20.nc", "OP20")):
        await client.patch(f"/api/files/{ids[name]}/card", json={"values": {"operation": op}}, headers=anna)
    await client.patch(f"/api/files/{other['id']}/card", json={"values": {"part_number": "4712"}}, headers=anna)

    packet = (await client.get("/api/cards/packet", params={"part_number": "4711-a"}, headers=anna)).json()
    assert [(p["group"], p["operation"], p["file"]["path"].rsplit("/", 1)[-1]) for p in packet["files"]] == [
        ("program", "OP10", "op10.nc"),
        ("program", "OP20", "op20.nc"),
        ("setup_sheet", None, "setup.pdf"),
        ("model", None, "part.step"),
    ]
    assert packet["zip_url"] == "/api/cards/packet/zip?part_number=4711-a"

    async with client.stream("GET", packet["zip_url"], headers=anna) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        assert "content-length" not in response.headers  # streamed as it is made
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert {n.rsplit("/", 1)[-1]: archive.read(n) for n in archive.namelist()} == {
        "op10.nc": b"G1 X10\n",
        "op20.nc": b"G1 X20\n",
        "setup.pdf": b"%PDF sheet\n",
        "part.step": b"ISO step\n",
    }

    # A one-minute link streams it without the token (a browser download); it opens no file's content.
    r = await client.post("/api/cards/packet/download-link", params={"part_number": "4711-A"}, headers=anna)
    assert r.status_code == 200, r.text
    link = r.json()["url"]
    r = await client.get(link)
    assert r.status_code == 200 and len(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) == 4
    token = link.split("dl=", 1)[1]
    assert (await client.get(f"/api/files/{ids['op10.nc']}/content", params={"dl": token})).status_code == 401
    assert (await client.get("/api/cards/packet/zip", params={"part_number": "4711-A", "dl": "x"})).status_code == 401

    # The floor: released revisions only.
    await release(client, anna, boss, ids["op10.nc"])
    floor = (await client.get("/api/cards/packet", params={"part_number": "4711-A"}, headers=people["olaf"])).json()
    assert [p["file"]["path"] for p in floor["files"]] == ["customers/ACME/4711/op10.nc"]
    r = await client.get("/api/cards/packet/zip", params={"part_number": "4711-A"}, headers=people["olaf"])
    assert zipfile.ZipFile(io.BytesIO(r.content)).namelist() == ["customers/ACME/4711/op10.nc"]
    r = await client.get("/api/cards/packet/zip", params={"part_number": "nothing"}, headers=anna)
    assert r.status_code == 404
