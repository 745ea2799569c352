"""A multi-file upload writes its rows in bulk: every file gets its catalog row, version, audit row and event,
in the files' order, each event stamped with its own audit row's time; clashes are still found for any file."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.journal import CHANNEL
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.db import to_asyncpg_dsn
from tests.vault import upload


async def test_many_files_in_one_upload_each_get_their_rows_audit_and_event(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, db: AsyncSession, database_url: str
) -> None:
    await make_user("anna", Role.user)
    anna = await login("anna")
    names = [f"op{i:03d}.nc" for i in range(40)]
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(to_asyncpg_dsn(database_url))
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
    try:
        r = await upload(client, anna, {n: f"G0 X{i}\n".encode() for i, n in enumerate(names)}, folder="jobs/7")
        assert r.status_code == 201, r.text
        answer = r.json()["files"]
        assert [f["path"] for f in answer] == [f"jobs/7/{n}" for n in names]  # the answer, in the upload's order
        events = []
        while len(events) < len(names):
            event = json.loads(await asyncio.wait_for(heard.get(), 30))
            if event["type"] == "file_uploaded":
                events.append(event)
    finally:
        await listener.close()

    rows = await sql(
        db, "SELECT target, file_id, at, actor_name FROM audit_events WHERE action = 'file.uploaded' ORDER BY id"
    )
    assert [r[0] for r in rows] == [f"jobs/7/{n}" for n in names]
    assert [r[1] for r in rows] == [f["id"] for f in answer]
    assert {r[3] for r in rows} == {"anna"}
    assert [e["path"] for e in events] == [r[0] for r in rows]
    assert [e["file_id"] for e in events] == [r[1] for r in rows]
    assert [datetime.fromisoformat(e["at"]) for e in events] == [r[2] for r in rows]  # each its own row's time
    versions = await sql(db, "SELECT count(*) FROM file_versions WHERE version = 1")
    assert versions == [(len(names),)]


async def test_a_clash_anywhere_in_a_bulk_upload_refuses_all_of_it(
    client: httpx.AsyncClient, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    await make_user("anna", Role.user)
    anna = await login("anna")
    assert (await upload(client, anna, {"a_b.nc": b"G0\n", "fixture.nc": b"G1\n"}, folder="jobs")).status_code == 201
    many = {f"op{i}.nc": b"G0\n" for i in range(10)}
    # A new file inside an existing file (as a folder), in the middle of a bulk upload.
    r = await upload(client, anna, many | {"fixture.nc/x.nc": b"G0\n"}, folder="jobs")
    assert r.status_code == 409 and "'jobs/fixture.nc' is a file in the vault" in r.json()["detail"], r.text
    # A new file where an existing file's folder is: the folder `jobs` holds files; `_` and `%` are not wildcards.
    r = await upload(client, anna, many | {"jobs.nc": b"x", "a%b.nc/y.nc": b"x", "jobs": b"G0\n"})
    assert r.status_code in (409, 415), r.text
    r = await upload(client, anna, {f"n{i}.nc": b"G0\n" for i in range(5)} | {"jobs.nc": b"G0\n"}, folder="")
    assert r.status_code == 201, r.text  # `jobs.nc` is not inside `jobs/`
    r = await upload(client, anna, many | {"a%b.nc": b"G0\n", "a_b.nc/z.nc": b"G0\n"}, folder="jobs")
    assert r.status_code == 409 and "'jobs/a_b.nc' is a file in the vault" in r.json()["detail"], r.text
    r = await upload(client, anna, many | {"fixture.nc": b"G0\n"}, folder="jobs")
    assert r.status_code == 409 and "already exists" in r.json()["detail"], r.text
    assert await sql(db, "SELECT count(*) FROM files") == [(8,)]  # 2 + 5 + jobs.nc: nothing of the refused ones
