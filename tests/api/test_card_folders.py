"""Folder cards over a folder's life: a folder with a card is kept when its files go, deleting it deletes its card
(audited, so the values stay in the history), and a file's card history shows the changes of its folders'
cards, from the folders it was in at the time."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.vault import upload, upload_one

Headers = dict[str, str]


@pytest.fixture
async def people(make_user: MakeUser, login: Login) -> dict[str, Headers]:
    for name, role in (("anna", Role.user), ("boss", Role.admin), ("olaf", Role.viewer)):
        await make_user(name, role)
    return {name: await login(name) for name in ("anna", "boss", "olaf")}


async def set_folder(client: httpx.AsyncClient, who: Headers, folder: str, **values: Any) -> httpx.Response:
    return await client.patch("/api/folders/card", params={"path": folder}, json={"values": values}, headers=who)


async def card(client: httpx.AsyncClient, who: Headers, file_id: object) -> dict[str, tuple[str | None, str | None]]:
    r = await client.get(f"/api/files/{file_id}/card", headers=who)
    assert r.status_code == 200, r.text
    return {v["key"]: (v["value"], v["inherited_from"]) for v in r.json()["values"]}


async def folder_names(client: httpx.AsyncClient, who: Headers, parent: str) -> list[str]:
    r = await client.get("/api/folders", params={"parent": parent}, headers=who)
    assert r.status_code == 200, r.text
    return [f["name"] for f in r.json()["folders"]]


async def test_a_folder_with_a_card_is_kept_and_deleting_it_deletes_its_card(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    anna, boss = people["anna"], people["boss"]
    r = await upload(client, anna, {"a.nc": b"1", "sub/b.nc": b"2"}, folder="customers/ACME")
    assert r.status_code == 201, r.text
    a, b = (f["id"] for f in r.json()["files"])
    await upload_one(client, anna, "customers/keep.nc", b"3")
    assert (await set_folder(client, anna, "customers", material="Alu")).status_code == 200
    assert (await set_folder(client, anna, "customers/ACME", customer="ACME")).status_code == 200
    assert (await set_folder(client, anna, "customers/ACME/sub", operation="OP10")).status_code == 200
    assert (await card(client, anna, b))["customer"] == ("ACME", "customers/ACME")

    # Its last files gone, a folder with a card stays listed, card and all (its card is never out of sight).
    for file_id in (a, b):
        assert (await client.delete(f"/api/files/{file_id}", headers=boss)).status_code == 200
    assert await folder_names(client, anna, "customers") == ["ACME"]
    assert await folder_names(client, anna, "customers/ACME") == ["sub"]
    kept = (await client.get("/api/folders/card", params={"path": "customers/ACME"}, headers=anna)).json()
    assert {v["key"]: v["value"] for v in kept["values"]}["customer"] == "ACME"

    # Deleting it is the folder rule (empty first), then its card goes with it, audited with the old values.
    r = await client.delete("/api/folders", params={"path": "customers/ACME"}, headers=anna)
    assert r.status_code == 409, r.text
    assert (await client.delete("/api/folders", params={"path": "no/such"}, headers=anna)).status_code == 404
    audit_before = await sql(db, "SELECT count(*) FROM audit_events")
    assert (await client.delete("/api/folders", params={"path": "customers/ACME/sub"}, headers=anna)).status_code == 204
    assert (await client.delete("/api/folders", params={"path": "customers/acme"}, headers=anna)).status_code == 204
    assert await folder_names(client, anna, "customers") == []
    rows = await sql(
        db,
        "SELECT actor_name, target, details->'changes', details->>'folder_key' FROM audit_events "
        "WHERE action = 'card.folder_changed' AND details->>'via' = 'folder_deleted' ORDER BY id",
    )
    assert rows == [
        ("anna", "customers/ACME/sub", {"operation": {"old": "OP10", "new": None}}, "customers/acme/sub"),
        ("anna", "customers/ACME", {"customer": {"old": "ACME", "new": None}}, "customers/acme"),
    ]
    assert await sql(db, "SELECT count(*) FROM audit_events") == [(audit_before[0][0] + 4,)]  # 2 folders, 2 cards
    assert await sql(db, "SELECT folder_key FROM folder_card_values") == [("customers",)]

    # A file put at that path later starts without the deleted card; a restored one gets what is above now.
    new = await upload_one(client, anna, "customers/ACME/c.nc", b"4")
    assert (await card(client, anna, new["id"]))["customer"] == (None, None)
    assert (await card(client, anna, new["id"]))["material"] == ("Alu", "customers")
    assert (await client.post(f"/api/files/{b}/restore", headers=boss)).status_code == 200
    restored = await card(client, anna, b)
    assert restored["customer"] == (None, None) and restored["operation"] == (None, None)
    assert restored["material"] == ("Alu", "customers")
    history = (await client.get(f"/api/files/{b}/card/history", headers=anna)).json()["items"]
    assert [(i["inherited_from"], i["via"], i["changes"]) for i in history[:2]] == [
        ("customers/ACME", "folder_deleted", {"customer": {"old": "ACME", "new": None}}),
        ("customers/ACME/sub", "folder_deleted", {"operation": {"old": "OP10", "new": None}}),
    ]


async def test_a_folder_with_a_card_stays_when_its_last_file_moves_away(
    client: httpx.AsyncClient, people: dict[str, Headers]
) -> None:
    anna = people["anna"]
    part = await upload_one(client, anna, "jobs/4711/op10.nc", b"G0\n")
    await upload_one(client, anna, "plain/x.nc", b"G0\n")
    assert (await set_folder(client, anna, "jobs/4711", customer="Beta")).status_code == 200
    for target in ("archive/op10.nc", "elsewhere/op10.nc"):
        r = await client.post(f"/api/files/{part['id']}/move", json={"path": target}, headers=anna)
        assert r.status_code == 200, r.text
    # `jobs/4711` keeps its card in sight; `archive`, which only held the file, is gone as before.
    assert await folder_names(client, anna, "") == ["elsewhere", "jobs", "plain"]
    assert await folder_names(client, anna, "jobs") == ["4711"]
    assert (await card(client, anna, part["id"]))["customer"] == (None, None)
    # Clearing a card does not keep a folder; only a value does.
    assert (await set_folder(client, anna, "plain", customer=None)).status_code == 200
    plain = (await client.get("/api/files", params={"folder": "plain"}, headers=anna)).json()["items"][0]
    r = await client.post(f"/api/files/{plain['id']}/move", json={"path": "elsewhere/x.nc"}, headers=anna)
    assert r.status_code == 200, r.text
    assert await folder_names(client, anna, "") == ["elsewhere", "jobs"]
    assert (await set_folder(client, anna, "plain", customer="X")).status_code == 404


async def test_the_card_history_of_a_file_shows_its_folders_card_changes_in_time_order(
    client: httpx.AsyncClient, people: dict[str, Headers]
) -> None:
    anna, boss, olaf = people["anna"], people["boss"], people["olaf"]
    assert (await client.post("/api/folders", json={"path": "customers"}, headers=anna)).status_code == 201
    # Before the file exists: not part of its history.
    assert (await set_folder(client, anna, "customers", description="early")).status_code == 200
    part = await upload_one(client, anna, "customers/ACME/op10.nc", b"G0\n")
    await upload_one(client, anna, "customers/Other/x.nc", b"G0\n")
    r = await client.patch(f"/api/files/{part['id']}/card", json={"values": {"part_number": "P-1"}}, headers=anna)
    assert r.status_code == 200, r.text
    assert (await set_folder(client, anna, "customers/ACME", customer="ACME")).status_code == 200
    assert (await set_folder(client, boss, "customers", material="Alu")).status_code == 200
    assert (await set_folder(client, anna, "customers/Other", customer="Other")).status_code == 200  # not its folder
    r = await client.post(f"/api/files/{part['id']}/move", json={"path": "customers/Other/op10.nc"}, headers=anna)
    assert r.status_code == 200, r.text
    assert (await set_folder(client, anna, "customers/ACME", customer="ACME 2")).status_code == 200  # left it
    assert (await set_folder(client, anna, "customers/other", customer="Other 2")).status_code == 200
    r = await client.patch(f"/api/files/{part['id']}/card", json={"values": {"part_number": "P-2"}}, headers=anna)
    assert r.status_code == 200, r.text

    r = await client.get(f"/api/files/{part['id']}/card/history", headers=anna)
    assert r.status_code == 200, r.text
    items = [(i["user"], i["action"], i["via"], i["inherited_from"], i["changes"]) for i in r.json()["items"]]
    assert items == [
        ("anna", "card.changed", "edit", None, {"part_number": {"old": "P-1", "new": "P-2"}}),
        ("anna", "card.folder_changed", "edit", "customers/other", {"customer": {"old": "Other", "new": "Other 2"}}),
        ("boss", "card.folder_changed", "edit", "customers", {"material": {"old": None, "new": "Alu"}}),
        ("anna", "card.folder_changed", "edit", "customers/ACME", {"customer": {"old": None, "new": "ACME"}}),
        ("anna", "card.changed", "edit", None, {"part_number": {"old": None, "new": "P-1"}}),
    ]
    times = [i["at"] for i in r.json()["items"]]
    assert times == sorted(times, reverse=True)
    # Viewers read released cards only: the history of a work-in-progress file is not theirs.
    assert (await client.get(f"/api/files/{part['id']}/card/history", headers=olaf)).status_code == 404
    assert (await client.get("/api/files/999999/card/history", headers=anna)).status_code == 404
