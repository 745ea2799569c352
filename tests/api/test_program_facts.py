"""Program facts stored with each NC version (issue 21, phase 2): computed once on upload and check-in, served by
`GET /api/files/{id}` (the floor's: the current revision's), `/versions`, the listing with `?facts=true`, and
recomputed by `camvault reindex`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from app.nc import FACTS_VERSION, program_facts
from app.services.reindex import FactsReindex
from app.storage.git_store import GitStore
from tests.cli import NO_BACKGROUND_SWEEP, camvault_async
from tests.conftest import Login, MakeUser, sql
from tests.vault import new_version, release, upload, upload_one

Headers = dict[str, str]
CORPUS = Path(__file__).resolve().parents[1] / "nc" / "corpus"
POCKET = (CORPUS / "pocket_square.nc").read_bytes()
FASTER = POCKET.replace(b"X40. F1200.", b"X40. F1500.")  # one feed changed
DRILLING = (CORPUS / "drilling.nc").read_bytes()


def facts_of(data: bytes) -> dict[str, Any]:
    found = program_facts(data)
    assert found is not None
    return found.model_dump(mode="json")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={**NO_BACKGROUND_SWEEP, "edit_cooldown_seconds": 0})


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> Headers:
    await make_user("anna", Role.user)
    return await login("anna")


async def stored_facts(db: AsyncSession) -> list[tuple[Any, ...]]:
    """(path, version, facts_version, facts) of every stored row."""
    return await sql(
        db,
        "SELECT v.path, v.version, x.facts_version, x.facts FROM version_facts x "
        "JOIN file_versions v ON v.id = x.version_id ORDER BY v.path, v.version",
    )


async def test_upload_stores_the_facts_of_nc_programs_only(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession
) -> None:
    binary = b"G0 X0\x00\x01\x02"
    r = await upload(
        client,
        anna,
        {"op10.nc": POCKET, "OP20.TAP": DRILLING, "notes.txt": b"G0 X0\nG1 X10 F100\n", "blob.nc": binary},
    )
    assert r.status_code == 201, r.text
    answer = {f["path"]: f for f in r.json()["files"]}
    # The upload's answer carries the facts it computed; files that are not NC programs (or not text) have none.
    assert answer["op10.nc"]["facts"] == facts_of(POCKET)
    assert answer["OP20.TAP"]["facts"] == facts_of(DRILLING)
    assert answer["notes.txt"]["facts"] is None and answer["blob.nc"]["facts"] is None
    assert await stored_facts(db) == [
        ("OP20.TAP", 1, FACTS_VERSION, facts_of(DRILLING)),
        ("op10.nc", 1, FACTS_VERSION, facts_of(POCKET)),
    ]
    for path in answer:
        meta = (await client.get(f"/api/files/{answer[path]['id']}", headers=anna)).json()
        assert meta["facts"] == answer[path]["facts"], path
        assert meta["facts_summary"] is None  # the listing's, on request only
    pocket = facts_of(POCKET)
    assert (pocket["tools"][0]["number"], pocket["extents"]["z"]["min"]) == (1, -2.0)  # what the pocket is


async def test_check_in_stores_the_new_versions_facts_and_history_shows_each_versions(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession
) -> None:
    op10 = await upload_one(client, anna, "jobs/op10.nc", POCKET)
    answer = await new_version(client, anna, op10["id"], FASTER)
    assert answer["file"]["facts"] == facts_of(FASTER) != facts_of(POCKET)
    meta = (await client.get(f"/api/files/{op10['id']}", headers=anna)).json()
    assert (meta["version"], meta["facts"]) == (2, facts_of(FASTER))
    by_path = (await client.get("/api/files/by-path", params={"path": "jobs/op10.nc"}, headers=anna)).json()
    assert by_path["facts"] == facts_of(FASTER)
    history = (await client.get(f"/api/files/{op10['id']}/versions", headers=anna)).json()["items"]
    assert [(v["version"], v["facts"]) for v in history] == [(2, facts_of(FASTER)), (1, facts_of(POCKET))]
    # A check-in of identical content makes no version, and no facts row.
    await client.post(f"/api/files/{op10['id']}/checkout", json={}, headers=anna)
    same = await client.post(
        f"/api/files/{op10['id']}/checkin", files={"file": ("op10.nc", FASTER)}, data={}, headers=anna
    )
    assert same.status_code == 200 and same.json()["new_version"] is False
    assert [(p, v) for p, v, _, _ in await stored_facts(db)] == [("jobs/op10.nc", 1), ("jobs/op10.nc", 2)]


async def test_the_floor_sees_the_facts_of_the_current_revision(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, anna: Headers
) -> None:
    await make_user("boss", Role.admin)
    await make_user("olaf", Role.viewer)
    boss, olaf = await login("boss"), await login("olaf")
    op10 = await upload_one(client, anna, "op10.nc", POCKET)
    await release(client, anna, boss, op10["id"])
    await new_version(client, anna, op10["id"], FASTER)  # work in progress, not on the floor
    floor = (await client.get(f"/api/files/{op10['id']}", headers=olaf)).json()
    assert (floor["version"], floor["facts"]) == (1, facts_of(POCKET))
    work = (await client.get(f"/api/files/{op10['id']}", headers=anna)).json()
    assert (work["version"], work["facts"]) == (2, facts_of(FASTER))
    listed = (await client.get("/api/files", params={"facts": "true"}, headers=olaf)).json()["items"]
    assert [(f["version"], f["facts_summary"]["cycle_time_s"]) for f in listed] == [
        (1, facts_of(POCKET)["cycle_time_s"])
    ]
    history = (await client.get(f"/api/files/{op10['id']}/versions", headers=olaf)).json()["items"]
    assert [(v["version"], v["facts"]) for v in history] == [(1, facts_of(POCKET))]


async def test_listing_adds_the_facts_summary_on_request(client: httpx.AsyncClient, anna: Headers) -> None:
    await upload(client, anna, {"a.nc": POCKET, "b.nc": DRILLING, "c.txt": b"text\n"})
    plain = (await client.get("/api/files", headers=anna)).json()["items"]
    assert all(f["facts_summary"] is None and f["facts"] is None for f in plain)
    items = (await client.get("/api/files", params={"facts": "true"}, headers=anna)).json()["items"]
    summaries = {f["path"]: f["facts_summary"] for f in items}
    expected = {}
    for path, data in (("a.nc", POCKET), ("b.nc", DRILLING)):
        facts = facts_of(data)
        expected[path] = {
            "tools": len(facts["tools"]),
            "cycle_time_s": facts["cycle_time_s"],
            "z_min": facts["extents"]["z"]["min"],
        }
    assert summaries == expected | {"c.txt": None}
    assert summaries["a.nc"] == {"tools": 1, "cycle_time_s": facts_of(POCKET)["cycle_time_s"], "z_min": -2.0}
    assert all(f["facts"] is None for f in items)  # the whole facts are the file's, not the listing's


async def test_reindex_recomputes_missing_and_outdated_facts_equal_to_the_uploads(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession, settings: Settings
) -> None:
    op10 = await upload_one(client, anna, "jobs/op10.nc", POCKET)
    await new_version(client, anna, op10["id"], FASTER)
    await upload(client, anna, {"jobs/drill.NGC": DRILLING, "jobs/readme.txt": b"G0 X1\n"})
    before = await stored_facts(db)
    assert len(before) == 3
    await db.execute(text("DELETE FROM version_facts"))
    await db.commit()
    assert (await client.get(f"/api/files/{op10['id']}", headers=anna)).json()["facts"] is None
    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    assert "program facts of 3 versions computed" in done.stdout, done.stdout
    assert await stored_facts(db) == before
    assert (await client.get(f"/api/files/{op10['id']}", headers=anna)).json()["facts"] == facts_of(FASTER)

    # Facts of an older parser count as none until recomputed; a second run has nothing to do.
    await db.execute(
        text(
            "UPDATE version_facts SET facts_version = 0, facts = '{}' "
            "WHERE version_id = (SELECT id FROM file_versions WHERE path = 'jobs/drill.NGC')"
        )
    )
    await db.commit()
    drill = [f for f in (await client.get("/api/files", headers=anna)).json()["items"] if f["path"].endswith("NGC")]
    assert (await client.get(f"/api/files/{drill[0]['id']}", headers=anna)).json()["facts"] is None
    done = await camvault_async(settings, "reindex")
    assert "program facts of 1 versions computed" in done.stdout, done.stdout
    assert await stored_facts(db) == before
    again = await camvault_async(settings, "reindex")
    assert "program facts of 0 versions computed" in again.stdout, again.stdout


class StreamingFactsReindex(FactsReindex):
    IN_MEMORY_BYTES = 0  # every content through the temp file, as contents over 16 MiB go


async def test_reindex_streams_large_contents_through_a_temp_file_to_equal_facts(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession, settings: Settings
) -> None:
    await upload(client, anna, {"a.nc": POCKET, "b.gcode": DRILLING, "c.nc": b"\x00binary"})
    before = await stored_facts(db)
    await db.execute(text("DELETE FROM version_facts"))
    await db.commit()
    report = await StreamingFactsReindex(db, GitStore(settings.data_dir / "vault.git"), settings).run()
    assert (report.computed, report.without) == (2, 1)  # c.nc is not text: no facts
    assert await stored_facts(db) == before
    assert not list((settings.data_dir / "tmp").glob("facts-*"))  # its temp files are gone
