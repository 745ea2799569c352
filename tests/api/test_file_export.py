"""GET /api/files/export: every file the listing's filters match, in the listing's order, streamed as NDJSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest

from app.models import Role
from app.services import listing
from tests.conftest import Login, MakeUser
from tests.vault import upload


async def _walk(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every row of the paged listing with these filters."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/files", params=query, headers=headers)).json()
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def test_export_streams_what_the_listing_pages_show_in_its_order(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "EXPORT_PAGE", 3)  # several pages of the export's own reads, too
    await make_user("anna", Role.user)
    await make_user("vera", Role.viewer)
    anna, vera = await login("anna"), await login("vera")
    files = {f"part{i:02d}.nc": b"G0 X0\n" * (i + 1) for i in range(8)}
    r = await upload(client, anna, files, folder="jobs/1042")
    assert r.status_code == 201, r.text
    assert (await upload(client, anna, {"+vise.nc": b"G1\n"})).status_code == 201
    r = await upload(client, anna, {"fixture.step": b"ISO-10303-21;\n"}, folder="jobs/2001")
    assert r.status_code == 201, r.text
    held = next(f for f in r.json()["files"] if f["path"].endswith("fixture.step"))
    assert (await client.post(f"/api/files/{held['id']}/checkout", json={"message": "fixing"}, headers=anna)).is_success

    for params in (
        {},
        {"sort": "size", "order": "desc"},
        {"folder": "jobs/1042", "q": "PART0"},
        {"status": "checked_out"},
        {"folder": "jobs", "recursive": "true", "sort": "updated"},
    ):
        listed = await _walk(client, anna, **params)
        r = await client.get("/api/files/export", params=params, headers=anna)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/x-ndjson"
        assert "attachment" in r.headers["content-disposition"]
        exported = [json.loads(line) for line in r.text.splitlines()]
        assert [e["id"] for e in exported] == [f["id"] for f in listed], params
        assert [e["path"] for e in exported] == [f["path"] for f in listed]
    # A viewer exports what the listing shows a viewer: the shop floor's view (nothing is released here).
    floor = (await client.get("/api/files/export", headers=vera)).text.splitlines()
    assert [json.loads(line)["id"] for line in floor] == [f["id"] for f in await _walk(client, vera)] == []
    lines = [json.loads(line) for line in (await client.get("/api/files/export", headers=anna)).text.splitlines()]
    [locked] = [e for e in lines if e["lock"]]
    assert locked["id"] == held["id"] and locked["lock"]["holder"] == "anna" and locked["lock"]["message"] == "fixing"
    assert {e["created_by"] for e in lines} == {"anna"} and all(e["version"] == 1 for e in lines)

    r = await client.get("/api/files/export", params={"format": "csv", "sort": "size"}, headers=anna)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert [int(row["id"]) for row in rows] == [f["id"] for f in await _walk(client, anna, sort="size")]
    by_path = {row["path"]: row for row in rows}
    assert by_path["jobs/2001/fixture.step"]["checked_out_by"] == "anna"
    assert by_path["jobs/1042/part00.nc"]["checked_out_by"] == ""
    assert "'+vise.nc" in by_path  # a cell a spreadsheet would take for a formula starts with an apostrophe


async def test_export_refuses_what_the_listing_refuses_before_sending_anything(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login
) -> None:
    await make_user("anna", Role.user)
    anna = await login("anna")
    r = await client.get("/api/files/export", params={"deleted": "true"}, headers=anna)
    assert r.status_code == 403, r.text
    assert "admins" in r.json()["detail"]
    assert (await client.get("/api/files/export", params={"format": "xlsx"}, headers=anna)).status_code == 422
    assert (await client.get("/api/files/export")).status_code == 401
    r = await client.get("/api/files/export", params={"folder": "nowhere"}, headers=anna)
    assert r.status_code == 200 and r.text == ""
