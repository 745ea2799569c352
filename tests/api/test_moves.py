"""Renaming and moving files and folders: one commit each, history, diff and blame follow the file by its id."""

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
async def people(make_user: MakeUser, login: Login) -> tuple[Headers, Headers, Headers, Headers]:
    await make_user("anna", Role.user)
    await make_user("ben", Role.user)
    await make_user("boss", Role.admin)
    await make_user("vic", Role.viewer)
    return await login("anna"), await login("ben"), await login("boss"), await login("vic")


@pytest.fixture
def repo(settings: Settings) -> Path:
    return settings.data_dir / "vault.git"


async def _edit(client: httpx.AsyncClient, who: Headers, file_id: object, data: bytes, message: str) -> None:
    r = await client.post(f"/api/files/{file_id}/checkout", json={"message": message}, headers=who)
    assert r.status_code == 200, r.text
    r = await check_in(client, who, file_id, data, message=message)
    assert r.status_code == 200 and r.json()["new_version"], r.text


def _commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "main"))


async def test_rename_is_one_commit_and_history_diff_blame_follow_the_file(
    client: httpx.AsyncClient, people: tuple[Headers, ...], db: AsyncSession, repo: Path
) -> None:
    anna, ben, _, _ = people
    v1 = b"G0 X0\nG1 X10 F200\nM30\n"
    v2 = b"G0 X0\nG1 X12 F250\nM30\n"
    v3 = b"G0 X0\nG1 X12 F250\nG1 Y5\nM30\n"
    file = await upload_one(client, anna, "jobs/1042/OP10.nc", v1)
    await _edit(client, ben, file["id"], v2, "feeds")
    commits = _commits(repo)

    r = await client.post(f"/api/files/{file['id']}/move", json={"path": "jobs/1042/op10-rough.nc"}, headers=anna)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["id"], moved["path"], moved["version"]) == (file["id"], "jobs/1042/op10-rough.nc", 2)
    # One commit: the blob at the new path, none at the old; trailers for reindex.
    assert _commits(repo) == commits + 1
    assert git(repo, "ls-tree", "-r", "--name-only", "main").split() == ["jobs/1042/op10-rough.nc"]
    message = git(repo, "log", "-1", "--format=%B", "main")
    assert "Camvault-Action: move" in message
    assert "Camvault-From: jobs/1042/OP10.nc" in message and "Camvault-To: jobs/1042/op10-rough.nc" in message
    assert (
        git(repo, "log", "-1", "--format=%s", "main").strip() == "Rename jobs/1042/OP10.nc to jobs/1042/op10-rough.nc"
    )

    # Then moved to another folder and edited there.
    r = await client.post(f"/api/files/{file['id']}/move", json={"path": "cells/op10-rough.nc"}, headers=anna)
    assert r.status_code == 200, r.text
    await _edit(client, ben, file["id"], v3, "add Y5")

    history = (await client.get(f"/api/files/{file['id']}/versions", headers=anna)).json()
    assert history["path"] == "cells/op10-rough.nc"
    kind = (await client.get(f"/api/files/{file['id']}/kind", headers=anna)).json()
    assert kind == {"version": 3, "size": len(v3), "text": True}
    assert [(v["version"], v["path"]) for v in history["items"]] == [
        (3, "cells/op10-rough.nc"),
        (2, "jobs/1042/OP10.nc"),
        (1, "jobs/1042/OP10.nc"),
    ]
    diff = (await client.get(f"/api/files/{file['id']}/diff", params={"from": 1, "to": 3}, headers=anna)).json()
    assert "--- jobs/1042/OP10.nc@v1" in diff["diff"] and "+++ cells/op10-rough.nc@v3" in diff["diff"]
    assert "-G1 X10 F200" in diff["diff"] and "+G1 Y5" in diff["diff"]

    # Blame of the latest version reaches back across both moves to version 1.
    blame = (await client.get(f"/api/files/{file['id']}/blame", headers=anna)).json()
    assert blame["path"] == "cells/op10-rough.nc"
    assert [(line["version"], line["text"]) for line in blame["lines"]] == [
        (1, "G0 X0"),
        (2, "G1 X12 F250"),
        (3, "G1 Y5"),
        (1, "M30"),
    ]
    # Blame of an old version works at the path it had.
    old = (await client.get(f"/api/files/{file['id']}/blame", params={"version": 2}, headers=anna)).json()
    assert old["path"] == "jobs/1042/OP10.nc"
    assert [line["version"] for line in old["lines"]] == [1, 2, 1]
    # Old versions download under the name they had, marked with their version.
    got = await client.get(f"/api/files/{file['id']}/content", params={"version": 1}, headers=anna)
    assert got.content == v1 and 'filename="OP10.v1.nc"' in got.headers["content-disposition"]
    latest = await client.get(f"/api/files/{file['id']}/content", headers=anna)
    assert 'filename="op10-rough.nc"' in latest.headers["content-disposition"]

    rows = await sql(db, "SELECT action, target, file_id FROM audit_events WHERE action = 'file.moved' ORDER BY id")
    assert rows == [
        ("file.moved", "jobs/1042/op10-rough.nc", file["id"]),
        ("file.moved", "cells/op10-rough.nc", file["id"]),
    ]


async def test_a_file_moves_with_its_holders_lock_but_not_while_someone_else_holds_it(
    client: httpx.AsyncClient, people: tuple[Headers, ...], repo: Path
) -> None:
    anna, ben, _, vic = people
    file = await upload_one(client, anna, "op20.nc", b"G0\n")
    assert (await client.post(f"/api/files/{file['id']}/checkout", json={}, headers=ben)).status_code == 200
    commits = _commits(repo)
    r = await client.post(f"/api/files/{file['id']}/move", json={"path": "op21.nc"}, headers=anna)
    assert r.status_code == 409
    assert r.json()["detail"]["holder"] == "ben" and "op20.nc is checked out by ben" in r.json()["detail"]["message"]
    assert _commits(repo) == commits
    # Viewers may not move; the holder may, and keeps the lock.
    assert (await client.post(f"/api/files/{file['id']}/move", json={"path": "a.nc"}, headers=vic)).status_code == 403
    r = await client.post(f"/api/files/{file['id']}/move", json={"path": "op21.nc"}, headers=ben)
    assert r.status_code == 200 and r.json()["lock"]["holder"] == "ben"
    r = await check_in(client, ben, file["id"], b"G1\n")
    assert r.status_code == 200 and r.json()["file"]["path"] == "op21.nc"


async def test_move_refusals_change_nothing(
    client: httpx.AsyncClient, people: tuple[Headers, ...], db: AsyncSession, repo: Path
) -> None:
    anna, *_ = people
    a = await upload_one(client, anna, "a.nc", b"a\n")
    await upload_one(client, anna, "B.nc", b"b\n")
    await upload_one(client, anna, "dir.nc/x.nc", b"x\n")
    assert (await client.post("/api/folders", json={"path": "empty.nc"}, headers=anna)).status_code == 201
    commits = _commits(repo)
    for to, status in [
        ("b.nc", 409),  # taken, in another case
        ("dir.nc", 409),  # a folder (files in it)
        ("dir", 415),  # the name rules of an upload: an allowed extension
        ("empty.nc", 409),  # a folder someone made
        ("a.nc/inside.nc", 409),  # inside itself (a file)
        ("../up.nc", 400),
        ("a.exe", 415),
        ("a.nc", 400),  # already its name
    ]:
        r = await client.post(f"/api/files/{a['id']}/move", json={"path": to}, headers=anna)
        assert r.status_code == status, (to, r.text)
    assert (await client.post("/api/files/999/move", json={"path": "z.nc"}, headers=anna)).status_code == 404
    assert _commits(repo) == commits
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'file.moved'") == [(0,)]
    # A change of case only is a rename.
    r = await client.post(f"/api/files/{a['id']}/move", json={"path": "A.nc"}, headers=anna)
    assert r.status_code == 200 and r.json()["path"] == "A.nc"
    assert "A.nc" in git(repo, "ls-tree", "--name-only", "main").split()


async def test_a_folder_move_is_one_commit_for_all_its_files(
    client: httpx.AsyncClient, people: tuple[Headers, ...], db: AsyncSession, repo: Path
) -> None:
    anna, ben, _, _ = people
    r = await upload(
        client,
        anna,
        {"op10.nc": b"G0\n", "op20.nc": b"G1\n", "fixtures/vise.step": b"ISO-10303-21;\n"},
        folder="jobs/1042",
    )
    ids = {f["path"]: f["id"] for f in r.json()["files"]}
    outside = await upload_one(client, anna, "jobs/10420.nc", b"not inside\n")
    assert (await client.post("/api/folders", json={"path": "jobs/1042/empty"}, headers=anna)).status_code == 201
    assert (await client.post(f"/api/files/{ids['jobs/1042/op10.nc']}/checkout", json={}, headers=anna)).is_success
    commits = _commits(repo)

    r = await client.post("/api/folders/move", json={"path": "jobs/1042", "to": "archive/2026/1042"}, headers=anna)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["old_path"] == "jobs/1042" and answer["folder"] == {
        "name": "1042",
        "path": "archive/2026/1042",
        "files": 3,
        "empty": False,
    }
    assert sorted(f["path"] for f in answer["files"]) == [
        "archive/2026/1042/fixtures/vise.step",
        "archive/2026/1042/op10.nc",
        "archive/2026/1042/op20.nc",
    ]
    assert _commits(repo) == commits + 1
    assert sorted(git(repo, "ls-tree", "-r", "--name-only", "main").split()) == [
        "archive/2026/1042/fixtures/vise.step",
        "archive/2026/1042/op10.nc",
        "archive/2026/1042/op20.nc",
        "jobs/10420.nc",
    ]
    moved = await client.get(f"/api/files/{ids['jobs/1042/op10.nc']}", headers=anna)
    assert moved.json()["path"] == "archive/2026/1042/op10.nc" and moved.json()["lock"]["holder"] == "anna"
    assert (await client.get(f"/api/files/{outside['id']}", headers=anna)).json()["path"] == "jobs/10420.nc"
    # The empty folder inside moved too.
    folders = (await client.get("/api/folders", params={"parent": "archive/2026/1042"}, headers=anna)).json()
    assert [(f["name"], f["files"]) for f in folders["folders"]] == [("empty", 0), ("fixtures", 1)]
    audit = await sql(db, "SELECT action, count(*) FROM audit_events WHERE action LIKE '%.moved' GROUP BY action")
    assert sorted(audit) == [("file.moved", 3), ("folder.moved", 1)]

    # Refused while someone else holds a file inside; onto an existing folder; into itself.
    assert (await client.post(f"/api/files/{ids['jobs/1042/op20.nc']}/checkout", json={}, headers=ben)).is_success
    r = await client.post("/api/folders/move", json={"path": "archive", "to": "old"}, headers=anna)
    assert r.status_code == 409 and r.json()["detail"]["holder"] == "ben"
    assert "archive/2026/1042/op20.nc is checked out by ben" in r.json()["detail"]["message"]
    r = await client.post("/api/folders/move", json={"path": "archive/2026", "to": "JOBS"}, headers=ben)
    assert r.status_code == 409  # jobs exists (any case): folders are not merged
    r = await client.post("/api/folders/move", json={"path": "archive", "to": "archive/inner"}, headers=ben)
    assert r.status_code == 400
    assert (await client.post("/api/folders/move", json={"path": "nope", "to": "x"}, headers=ben)).status_code == 404
    assert _commits(repo) == commits + 1


async def test_an_empty_folder_moves_without_a_commit(
    client: httpx.AsyncClient, people: tuple[Headers, ...], repo: Path
) -> None:
    anna, *_ = people
    await upload_one(client, anna, "seed.nc", b"G0\n")
    assert (await client.post("/api/folders", json={"path": "new/deep"}, headers=anna)).status_code == 201
    commits = _commits(repo)
    r = await client.post("/api/folders/move", json={"path": "new", "to": "renamed"}, headers=anna)
    assert r.status_code == 200 and r.json()["commit"] is None and r.json()["files"] == []
    assert _commits(repo) == commits
    top = (await client.get("/api/folders", headers=anna)).json()["folders"]
    assert [f["path"] for f in top] == ["renamed"]
    inner = (await client.get("/api/folders", params={"parent": "renamed"}, headers=anna)).json()["folders"]
    assert [f["path"] for f in inner] == ["renamed/deep"]


async def test_kind_says_text_or_binary_without_the_history_reading_git(
    client: httpx.AsyncClient, people: tuple[Headers, ...]
) -> None:
    anna, *_ = people
    binary = await upload_one(client, anna, "part.mcam", b"\x00\x01\x02 mastercam")
    text = await upload_one(client, anna, "OP10.nc", "G0 X0 (Ø20)\n".encode())
    assert (await client.get(f"/api/files/{binary['id']}/kind", headers=anna)).json()["text"] is False
    assert (await client.get(f"/api/files/{text['id']}/kind", headers=anna)).json()["text"] is True
    assert (await client.get(f"/api/files/{text['id']}/kind", params={"version": 2}, headers=anna)).status_code == 404
    r = await client.get(f"/api/files/{binary['id']}/blame", headers=anna)
    assert r.status_code == 400 and "only available for text" in r.json()["detail"]
