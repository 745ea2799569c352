from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import User
from tests.conftest import MakeUser

Admin = tuple[User, dict[str, str]]


async def _make_history(client: httpx.AsyncClient, admin: Admin, make_user: MakeUser) -> None:
    for i in range(5):
        u = await make_user(f"worker{i}")
        await client.patch(f"/api/admin/users/{u.id}", json={"full_name": f"Worker {i}"}, headers=admin[1])
    await client.post("/api/auth/token", json={"login": "worker1", "password": "wrong password"})


async def test_audit_is_newest_first_with_cursor_pages(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser
) -> None:
    await _make_history(client, admin, make_user)
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/api/admin/audit", params=params, headers=admin[1])
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids))
    everything = (await client.get("/api/admin/audit", params={"limit": 500}, headers=admin[1])).json()["items"]
    assert [e["id"] for e in everything] == ids


async def test_audit_filters(client: httpx.AsyncClient, admin: Admin, make_user: MakeUser) -> None:
    await _make_history(client, admin, make_user)

    async def get(**params: object) -> list[dict[str, object]]:
        r = await client.get("/api/admin/audit", params=params, headers=admin[1])
        assert r.status_code == 200, r.text
        return r.json()["items"]

    updates = await get(action="user.updated")
    assert len(updates) == 5 and all(e["actor_name"] == "boss" for e in updates)
    assert {e["action"] for e in await get(action="user")} == {"user.created", "user.updated"}
    assert [e["target"] for e in await get(target="worker3", action="user.updated")] == ["worker3"]
    assert [e["action"] for e in await get(action="auth.login_failed")] == ["auth.login_failed"]
    assert all(e["actor_name"] == "boss" for e in await get(actor="BOSS"))
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await get(since=future) == []
    assert len(await get(until=future, action="user.updated")) == 5


@pytest.mark.parametrize("params", [{"cursor": "!!notacursor"}, {"limit": 0}, {"limit": 501}, {"since": "yesterday"}])
async def test_audit_rejects_bad_parameters(client: httpx.AsyncClient, admin: Admin, params: dict[str, object]) -> None:
    r = await client.get("/api/admin/audit", params=params, headers=admin[1])
    assert r.status_code in (400, 422)
    assert "detail" in r.json()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action='forged'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
async def test_the_database_refuses_to_change_audit_rows(
    client: httpx.AsyncClient, admin: Admin, owner_database_url: str, statement: str
) -> None:
    """Even the table's owner (who migrates) meets the trigger; the app's own role is refused earlier, by its
    privileges (tests/test_database_roles.py)."""
    engine = create_async_engine(owner_database_url)
    try:
        async with engine.connect() as owner:
            before = (await owner.execute(text("SELECT id, action FROM audit_events ORDER BY id"))).all()
            await owner.rollback()
            assert before
            with pytest.raises(DBAPIError, match="append-only"):
                await owner.execute(text(statement))
            await owner.rollback()
            after = (await owner.execute(text("SELECT id, action FROM audit_events ORDER BY id"))).all()
            assert after == before
    finally:
        await engine.dispose()


async def test_audit_filters_match_prefixes_inside_words_and_people_by_any_name(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser
) -> None:
    from tests.vault import upload_one

    anna = await make_user("anna", email="anna.weber@example.com")
    await client.patch(f"/api/admin/users/{anna.id}", json={"full_name": "Anna Weber"}, headers=admin[1])
    token = (await client.post("/api/auth/token", json={"login": "anna", "password": "correct horse battery"})).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    file = await upload_one(client, headers, "op10.nc", b"G0\n")
    assert (await client.post(f"/api/files/{file['id']}/checkout", json={}, headers=headers)).status_code == 200
    assert (await client.post(f"/api/files/{file['id']}/force-release", headers=admin[1])).status_code == 200

    async def actions(**params: object) -> list[str]:
        r = await client.get("/api/admin/audit", params=params, headers=admin[1])
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()["items"]]

    assert await actions(action="lock.force") == ["lock.force_released"]
    assert await actions(action="lock.check") == ["lock.checkout"]
    for who in ("ann", "Anna Weber", "weber", "anna.weber@example", "ANNA"):
        found = await actions(actor=who)
        assert "file.uploaded" in found and "lock.checkout" in found, who
        assert "lock.force_released" not in found  # boss did that
    assert await actions(actor="nobody-at-all") == []
    # The audit row names the file by id too.
    r = await client.get("/api/admin/audit", params={"action": "file.uploaded"}, headers=admin[1])
    assert r.json()["items"][0]["file_id"] == file["id"]


async def test_audit_csv_export_streams_the_filtered_view(
    client: httpx.AsyncClient, admin: Admin, make_user: MakeUser
) -> None:
    import csv
    import io

    from app.services import audit as audit_service

    await _make_history(client, admin, make_user)
    params = {"action": "user.updated"}
    listed = (await client.get("/api/admin/audit", params=params | {"limit": 500}, headers=admin[1])).json()["items"]
    r = await client.get("/api/admin/audit/export", params=params, headers=admin[1])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith('attachment; filename="camvault-audit-')
    assert r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [int(row["id"]) for row in rows] == [e["id"] for e in listed]
    assert {row["action"] for row in rows} == {"user.updated"} and len(rows) == 5
    assert rows[0]["actor"] == "boss" and '"full_name"' in rows[0]["details"]
    # Not admins; and every page of a long log, a page at a time.
    assert (await client.get("/api/admin/audit/export", headers={})).status_code == 401
    everything = (await client.get("/api/admin/audit", params={"limit": 500}, headers=admin[1])).json()["items"]
    original = audit_service.EXPORT_PAGE
    audit_service.EXPORT_PAGE = 2
    try:
        paged = await client.get("/api/admin/audit/export", headers=admin[1])
    finally:
        audit_service.EXPORT_PAGE = original
    ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(paged.text.lstrip("\ufeff")))]
    assert ids[: len(everything)] == [e["id"] for e in everything][: len(ids)] and len(ids) >= len(everything)


async def test_audit_csv_cells_cannot_start_a_formula(client: httpx.AsyncClient, admin: Admin) -> None:
    from tests.vault import upload_one

    await upload_one(client, admin[1], "=HYPERLINK(1).nc", b"G0\n")
    r = await client.get("/api/admin/audit/export", params={"action": "file.uploaded"}, headers=admin[1])
    assert "'=HYPERLINK(1).nc" in r.text
