"""Folders someone makes: kept in the catalog while empty, in Git once they hold a file, deleted only when empty."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.vault import git, upload, upload_one

Headers = dict[str, str]


@pytest.fixture
async def people(make_user: MakeUser, login: Login) -> tuple[Headers, Headers]:
    await make_user("anna", Role.user)
    await make_user("vic", Role.viewer)
    return await login("anna"), await login("vic")


async def _folders(client: httpx.AsyncClient, who: Headers, parent: str = "") -> list[tuple[str, int]]:
    r = await client.get("/api/folders", params={"parent": parent}, headers=who)
    assert r.status_code == 200, r.text
    return [(f["name"], f["files"]) for f in r.json()["folders"]]


async def test_an_empty_folder_lives_in_the_catalog_until_deleted(
    client: httpx.AsyncClient, people: tuple[Headers, Headers], db: AsyncSession, settings: Settings
) -> None:
    anna, vic = people
    repo: Path = settings.data_dir / "vault.git"
    r = await client.post("/api/folders", json={"path": "jobs/1042"}, headers=anna)
    assert r.status_code == 201 and r.json() == {"name": "1042", "path": "jobs/1042", "files": 0, "empty": True}
    assert await _folders(client, anna) == [("jobs", 0)]
    assert await _folders(client, anna, "jobs") == [("1042", 0)]
    # The shop floor's view lists folders that hold released files only (README, "Release lifecycle").
    assert await _folders(client, vic, "jobs") == []
    # The old listing route says the same.
    old = await client.get("/api/files/folders", params={"parent": "jobs"}, headers=anna)
    assert [f["path"] for f in old.json()["folders"]] == ["jobs/1042"]
    assert not (repo / "refs" / "heads" / "main").exists() or git(repo, "ls-tree", "-r", "main") == ""

    # Once a file is in it, Git holds it too; the folder row stays (delete refused while not empty).
    await upload(client, anna, {"op10.nc": b"G0\n"}, folder="jobs/1042")
    assert git(repo, "ls-tree", "-r", "--name-only", "main").split() == ["jobs/1042/op10.nc"]
    assert await _folders(client, anna, "jobs") == [("1042", 1)]
    r = await client.delete("/api/folders", params={"path": "jobs/1042"}, headers=anna)
    assert r.status_code == 409 and "not empty" in r.json()["detail"]

    # Names: the file rules (no extension needed); clashes in any case; viewers may not.
    for path, status in [
        ("JOBS/1042", 409),
        ("jobs/1042/op10.nc", 409),  # a file is there
        ("jobs/1042/op10.nc/x", 409),  # inside a file
        ("a/../b", 400),
        ("bad\\name", 400),
        ("", 400),
        (".git", 400),
    ]:
        assert (await client.post("/api/folders", json={"path": path}, headers=anna)).status_code == status, path
    assert (await client.post("/api/folders", json={"path": "v"}, headers=vic)).status_code == 403
    # A file may not be put where a folder someone made is.
    assert (await client.post("/api/folders", json={"path": "plans.nc"}, headers=anna)).status_code == 201
    r = await upload(client, anna, {"plans.nc": b"G0\n"})
    assert r.status_code == 409 and "is a folder" in r.json()["detail"]

    assert (await client.post("/api/folders", json={"path": "tmp/a"}, headers=anna)).status_code == 201
    listed = (await client.get("/api/folders", headers=anna)).json()["folders"]
    assert {f["name"]: f["empty"] for f in listed} == {"jobs": False, "plans.nc": True, "tmp": False}
    r = await client.delete("/api/folders", params={"path": "tmp"}, headers=anna)
    assert r.status_code == 409  # it holds tmp/a
    assert (await client.delete("/api/folders", params={"path": "tmp/a"}, headers=anna)).status_code == 204
    assert (await client.delete("/api/folders", params={"path": "tmp/a"}, headers=anna)).status_code == 404
    assert (await client.delete("/api/folders", params={"path": ""}, headers=anna)).status_code == 400
    assert await _folders(client, anna) == [("jobs", 1), ("plans.nc", 0)]
    rows = await sql(db, "SELECT action, target FROM audit_events WHERE action LIKE 'folder.%' ORDER BY id")
    assert rows == [
        ("folder.created", "jobs/1042"),
        ("folder.created", "plans.nc"),
        ("folder.created", "tmp/a"),
        ("folder.deleted", "tmp/a"),
    ]


async def test_folders_and_files_list_in_natural_case_insensitive_order_across_pages(
    client: httpx.AsyncClient, people: tuple[Headers, Headers]
) -> None:
    anna, _ = people
    names = ["OP10.nc", "op2.nc", "OP1.nc", "bracket-b.nc", "BRACKET-A.nc", "Op100.nc", "op20.nc", "a.nc"]
    await upload(client, anna, {n: n.encode() for n in names}, folder="cell")
    for folder in ("cell/Fix10", "cell/fix2", "cell/FIX1"):
        assert (await client.post("/api/folders", json={"path": folder}, headers=anna)).status_code == 201
    expected = ["a.nc", "BRACKET-A.nc", "bracket-b.nc", "OP1.nc", "op2.nc", "OP10.nc", "op20.nc", "Op100.nc"]
    seen: list[str] = []
    cursor = None
    while True:  # three at a time: the keyset paging follows the same order
        params = {"folder": "cell", "sort": "name", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/files", params=params, headers=anna)).json()
        seen += [f["path"].split("/")[-1] for f in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expected
    desc = (await client.get("/api/files", params={"folder": "cell", "order": "desc"}, headers=anna)).json()
    assert [f["path"].split("/")[-1] for f in desc["items"]] == expected[::-1]
    # Each row carries its sort key, so a client can put a live row where this order puts it.
    keys = [f["sort_key"] for f in desc["items"]][::-1]
    assert keys == sorted(keys)
    assert [name for name, _ in await _folders(client, anna, "cell")] == ["FIX1", "fix2", "Fix10"]


async def test_a_sort_key_is_the_same_whatever_the_spelling(
    client: httpx.AsyncClient, people: tuple[Headers, Headers]
) -> None:
    anna, _ = people
    a = await upload_one(client, anna, "x/Part7.nc", b"1")
    b = await upload_one(client, anna, "y/part07.nc", b"2")
    assert a["sort_key"].split("\x01")[-1] == b["sort_key"].split("\x01")[-1]
