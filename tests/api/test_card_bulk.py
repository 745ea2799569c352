"""Bulk set and CSV export/import of cards: all or nothing, dry run, round trip, audit rows, roles."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.vault import upload

Headers = dict[str, str]


@pytest.fixture
async def people(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> dict[str, Headers]:
    for name, role in (("anna", Role.user), ("boss", Role.admin), ("olaf", Role.viewer)):
        await make_user(name, role)
    heads = {name: await login(name) for name in ("anna", "boss", "olaf")}
    r = await client.post(
        "/api/cards/fields", json={"key": "qty", "label": "Qty", "type": "number"}, headers=heads["boss"]
    )
    assert r.status_code == 201
    r = await client.patch("/api/cards/fields/machine", json={"choices": ["DMU 50", "Mazak"]}, headers=heads["boss"])
    assert r.status_code == 200
    # `operation` is only on programs: a bulk set over a folder with a PDF must fail on the PDF.
    r = await client.patch("/api/cards/fields/operation", json={"extensions": ["nc"]}, headers=heads["boss"])
    assert r.status_code == 200
    return heads


async def own_values(db: AsyncSession) -> list[tuple[object, ...]]:
    return await sql(
        db,
        "SELECT f.path, c.key, v.value_text FROM card_values v JOIN files f ON f.id = v.file_id "
        "JOIN card_fields c ON c.id = v.field_id WHERE v.source_folder IS NULL ORDER BY 1, 2",
    )


async def seed(client: httpx.AsyncClient, anna: Headers) -> dict[str, int]:
    r = await upload(
        client, anna, {"op10.nc": b"1", "op20.nc": b"2", "setup.pdf": b"3", "sub/op30.nc": b"4"}, folder="jobs/4711"
    )
    assert r.status_code == 201, r.text
    return {f["path"]: f["id"] for f in r.json()["files"]}


async def test_bulk_set_is_all_or_nothing(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    anna = people["anna"]
    ids = await seed(client, anna)
    programs = [ids["jobs/4711/op10.nc"], ids["jobs/4711/op20.nc"]]

    r = await client.post(
        "/api/cards/bulk", json={"file_ids": programs, "values": {"operation": "OP10", "qty": "5"}}, headers=anna
    )
    assert r.status_code == 200, r.text
    assert r.json()["files"] == 2 and len(r.json()["changed"]) == 2

    before = await own_values(db)
    audit_before = await sql(db, "SELECT count(*) FROM audit_events")
    # One file the field does not fit (the PDF has no operation): nothing changes on any file.
    r = await client.post(
        "/api/cards/bulk", json={"folder": "jobs/4711", "values": {"operation": "OP99"}}, headers=anna
    )
    assert r.status_code == 422 and r.json()["detail"]["fields"] == ["operation"]
    # One bad value, one missing file: the same.
    r = await client.post("/api/cards/bulk", json={"file_ids": programs, "values": {"qty": "lots"}}, headers=anna)
    assert r.status_code == 422
    r = await client.post("/api/cards/bulk", json={"file_ids": [*programs, 999999], "values": {"qty": 9}}, headers=anna)
    assert r.status_code == 404
    assert await own_values(db) == before
    assert await sql(db, "SELECT count(*) FROM audit_events") == audit_before

    r = await client.post("/api/cards/bulk", json={"folder": "jobs/4711", "values": {"machine": "mazak"}}, headers=anna)
    assert r.status_code == 200, r.text
    assert r.json()["files"] == 4 and {c["changes"]["machine"]["new"] for c in r.json()["changed"]} == {"Mazak"}
    rows = await sql(db, "SELECT details FROM audit_events WHERE action = 'card.changed' AND details->>'via' = 'bulk'")
    assert len(rows) == 2 + 4

    assert (
        await client.post("/api/cards/bulk", json={"folder": "jobs", "values": {"qty": 1}}, headers=people["olaf"])
    ).status_code == 403
    bad = await client.post(
        "/api/cards/bulk", json={"folder": "jobs", "file_ids": [1], "values": {"qty": 1}}, headers=anna
    )
    assert bad.status_code == 400


async def test_csv_round_trip_dry_run_and_a_bad_row_changes_nothing(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    anna = people["anna"]
    ids = await seed(client, anna)
    await client.patch(
        f"/api/files/{ids['jobs/4711/op10.nc']}/card",
        json={"values": {"part_number": "4711", "qty": 2.50, "description": 'say "hi", twice'}},
        headers=anna,
    )
    await client.patch(
        "/api/folders/card", params={"path": "jobs/4711"}, json={"values": {"customer": "ACME"}}, headers=anna
    )

    floor = await client.get("/api/cards/export", params={"folder": "jobs/4711"}, headers=people["olaf"])
    assert floor.status_code == 200 and len(floor.text.splitlines()) == 1, "the floor exports released files only"
    r = await client.get("/api/cards/export", params={"folder": "jobs/4711"}, headers=anna)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    exported = r.text
    lines = exported.splitlines()
    assert lines[0] == "path,part_number,customer,machine,material,operation,description,qty"
    assert lines[1] == 'jobs/4711/op10.nc,4711,,,,,"say ""hi"", twice",2.5'  # inherited customer left to the folder
    assert len(lines) == 5

    before = await own_values(db)
    audit_before = await sql(db, "SELECT count(*) FROM audit_events")
    r = await client.post("/api/cards/import", content=exported.encode(), headers=anna | {"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == [] and r.json()["rows"] == 4
    assert await own_values(db) == before and await sql(db, "SELECT count(*) FROM audit_events") == audit_before

    edited = "path,part_number,qty\r\nJOBS/4711/op20.nc,4711,7\r\njobs/4711/op10.nc,4711-B,\r\n"
    r = await client.post("/api/cards/import", params={"dry_run": "true"}, content=edited, headers=anna)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is False
    assert [(c["path"], c["changes"]) for c in r.json()["changed"]] == [
        ("jobs/4711/op20.nc", {"part_number": {"old": None, "new": "4711"}, "qty": {"old": None, "new": "7"}}),
        ("jobs/4711/op10.nc", {"part_number": {"old": "4711", "new": "4711-B"}, "qty": {"old": "2.5", "new": None}}),
    ]
    assert await own_values(db) == before and await sql(db, "SELECT count(*) FROM audit_events") == audit_before

    for bad, line in (
        (edited + "jobs/4711/nope.nc,1,1\r\n", 4),
        (edited + "jobs/4711/setup.pdf,1,many\r\n", 4),
        ("path,part_number\r\njobs/4711/op10.nc,x\r\njobs/4711/op10.nc,y\r\n", 3),
        ("path,part_number\r\njobs/4711/op10.nc\r\n", 2),
    ):
        r = await client.post("/api/cards/import", content=bad, headers=anna)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"]["line"] == line
        assert await own_values(db) == before
    for hostile in (
        "?(\u00df\u00eb\U000a7dad\u009a}\r\u0091\u00d2\u00e0".encode(),
        b"path,part_number\r\njobs/4711/op10.nc,a\x00b\r\n",
        b'path,part_number\r\n"jobs/4711/op10.nc\r\n',
        b"path,part_number\r\n\xff\xfe,1\r\n",
        b"path,part_number\r\njobs/4711/op10.nc,\x07\r\n",
    ):
        r = await client.post("/api/cards/import", params={"dry_run": "true"}, content=hostile, headers=anna)
        assert r.status_code in (400, 422), (hostile, r.text)
    r = await client.post("/api/cards/import", content="path,nope\r\na.nc,1\r\n", headers=anna)
    assert r.status_code == 400 and "nope" in r.text
    assert (await client.post("/api/cards/import", content=edited, headers=people["olaf"])).status_code == 403

    r = await client.post("/api/cards/import", content=edited, headers=anna)
    assert r.status_code == 200 and r.json()["applied"] and len(r.json()["changed"]) == 2
    rows = await sql(
        db, "SELECT target FROM audit_events WHERE action = 'card.changed' AND details->>'via' = 'import' ORDER BY id"
    )
    assert rows == [("jobs/4711/op20.nc",), ("jobs/4711/op10.nc",)]
    again = await client.get("/api/cards/export", params={"folder": "jobs/4711"}, headers=anna)
    r = await client.post("/api/cards/import", content=again.text, headers=anna)
    assert r.json()["changed"] == []
