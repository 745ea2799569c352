from __future__ import annotations

import unicodedata
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role, User
from tests.conftest import Login, MakeUser, sql
from tests.vault import git, new_version, release, upload, upload_one, upload_raw_name

Admin = tuple[User, dict[str, str]]


@pytest.fixture
async def writer(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("anna", Role.user)
    return await login("anna")


@pytest.fixture
def repo(settings: Settings) -> Path:
    return settings.data_dir / "vault.git"


async def _nothing_written(db: AsyncSession, repo: Path, settings: Settings, head_before: str) -> None:
    assert await sql(db, "SELECT count(*) FROM files") == [(0,)]
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action LIKE 'file.%'") == [(0,)]
    head = git(repo, "rev-parse", "--verify", "-q", "refs/heads/main").strip() if head_before else ""
    assert head == head_before
    tmp = settings.data_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


async def test_upload_download_metadata_round_trip(
    client: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, repo: Path
) -> None:
    data = b"G0 X0 Y0\nG1 X10 F200\nM30\n"
    r = await upload(client, writer, {"op10.nc": data}, folder="jobs/1042", message="first cut")
    assert r.status_code == 201, r.text
    [f] = r.json()["files"]
    assert f["path"] == "jobs/1042/op10.nc"
    assert (f["size"], f["version"], f["created_by"], f["updated_by"], f["lock"]) == (
        len(data),
        1,
        "anna",
        "anna",
        None,
    )
    assert git(repo, "cat-file", "-p", "main:jobs/1042/op10.nc").encode() == data
    assert git(repo, "log", "-1", "--format=%an|%s", "main").strip() == "anna|Upload jobs/1042/op10.nc"
    meta = await client.get(f"/api/files/{f['id']}", headers=writer)
    assert meta.json()["blob_sha"] == f["blob_sha"]
    by_path = await client.get("/api/files/by-path", params={"path": "JOBS/1042/OP10.NC"}, headers=writer)
    assert by_path.json()["id"] == f["id"]
    got = await client.get(f"/api/files/{f['id']}/content", headers=writer)
    assert got.status_code == 200 and got.content == data
    assert got.headers["etag"] == f'"{f["blob_sha"]}"'
    assert got.headers["content-disposition"] == "attachment; filename=\"op10.nc\"; filename*=UTF-8''op10.nc"
    rows = await sql(db, "SELECT action, target, actor_name FROM audit_events WHERE action LIKE 'file.%'")
    assert rows == [("file.uploaded", "jobs/1042/op10.nc", "anna")]


async def test_several_files_in_one_upload_make_one_commit(
    client: httpx.AsyncClient, writer: dict[str, str], repo: Path
) -> None:
    r = await upload(client, writer, {"a.nc": b"a", "b.mcam": b"\x00\x01binary", "setup.pdf": b"%PDF-1.4"}, folder="p")
    assert r.status_code == 201
    assert {f["path"] for f in r.json()["files"]} == {"p/a.nc", "p/b.mcam", "p/setup.pdf"}
    assert git(repo, "rev-list", "--count", "main").strip() == "1"
    assert {f["head_commit"] for f in r.json()["files"]} == {r.json()["commit"]}


async def test_unicode_names_and_rfc5987_disposition(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    f = await upload_one(client, writer, "Flansch Ø40 \u2013 Spannung.nc", b"x")
    got = await client.get(f"/api/files/{f['id']}/content", headers=writer)
    disposition = got.headers["content-disposition"]
    assert "filename*=UTF-8''Flansch%20%C3%9840%20%E2%80%93%20Spannung.nc" in disposition
    assert disposition.encode("latin-1")  # the plain fallback is ASCII


async def test_etag_304_and_ranges(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    data = bytes(range(256)) * 40
    f = await upload_one(client, writer, "part.stl", data)
    url = f"/api/files/{f['id']}/content"
    not_modified = await client.get(url, headers=writer | {"If-None-Match": f'"{f["blob_sha"]}"'})
    assert not_modified.status_code == 304 and not_modified.content == b""
    changed = await client.get(url, headers=writer | {"If-None-Match": '"0000"'})
    assert changed.status_code == 200 and changed.content == data
    part = await client.get(url, headers=writer | {"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = await client.get(url, headers=writer | {"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    open_end = await client.get(url, headers=writer | {"Range": "bytes=10000-"})
    assert open_end.content == data[10000:]
    beyond = await client.get(url, headers=writer | {"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


BAD_NAMES = [
    ("../x.nc", 400),
    ("/abs.nc", 400),
    ("a/../../b.nc", 400),
    (".git/config.nc", 400),
    ("a/.git/x.nc", 400),
    ("nul\x00.nc", 400),
    ("back\\slash.nc", 400),
    ("ctrl\x07.nc", 400),
    ("tab\there.nc", 400),
    ("", 400),
    ("a" * 253 + ".nc", 400),  # a 256-byte component
    ("/".join(["d" * 200] * 5) + "/" + "x" * 21 + ".nc", 400),  # 1025 bytes in all
    ("virus.exe", 415),
    ("noext", 415),
]


@pytest.mark.parametrize(("name", "status"), BAD_NAMES)
async def test_bad_paths_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    writer: dict[str, str],
    db: AsyncSession,
    repo: Path,
    settings: Settings,
    name: str,
    status: int,
) -> None:
    r = await upload_raw_name(client, writer, name, b"content")
    assert r.status_code == status, (name, r.text)
    assert "detail" in r.json()
    await _nothing_written(db, repo, settings, "")


@pytest.mark.parametrize("folder", ["../up", "/root", "a/../..", ".git", "x\\y"])
async def test_bad_folders_are_refused(
    client: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, repo: Path, settings: Settings, folder: str
) -> None:
    r = await upload(client, writer, {"ok.nc": b"x"}, folder=folder)
    assert r.status_code == 400
    await _nothing_written(db, repo, settings, "")


@pytest.mark.parametrize(
    "twin",
    ["jobs/Op10.NC", "JOBS/op10.nc", unicodedata.normalize("NFD", "jobs/Düse.nc"), "jobs/düse.NC"],
)
async def test_existing_paths_and_their_twins_are_409(
    client: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, repo: Path, twin: str
) -> None:
    await upload(client, writer, {"op10.nc": b"one", unicodedata.normalize("NFC", "Düse.nc"): b"two"}, folder="jobs")
    head = git(repo, "rev-parse", "main").strip()
    name = twin.rsplit("/", 1)
    r = await upload(client, writer, {name[1]: b"other"}, folder=name[0])
    assert r.status_code == 409, r.text
    assert git(repo, "rev-parse", "main").strip() == head
    assert await sql(db, "SELECT count(*) FROM files") == [(2,)]


async def test_nfd_names_are_stored_as_nfc(client: httpx.AsyncClient, writer: dict[str, str], repo: Path) -> None:
    f = await upload_one(client, writer, unicodedata.normalize("NFD", "Düse.nc"), b"x")
    assert f["path"] == unicodedata.normalize("NFC", "Düse.nc")


async def test_twins_inside_one_upload_are_refused(
    client: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, repo: Path, settings: Settings
) -> None:
    r = await upload(client, writer, {"a.nc": b"1", "A.NC": b"2"})
    assert r.status_code == 409
    await _nothing_written(db, repo, settings, "")


async def test_size_limit_is_exact(
    app: FastAPI, client: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, repo: Path, settings: Settings
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_upload_bytes": 1000})
    over = await upload(client, writer, {"big.nc": b"x" * 1001})
    assert over.status_code == 413
    await _nothing_written(db, repo, settings, "")
    exact = await upload(client, writer, {"big.nc": b"x" * 1000})
    assert exact.status_code == 201


async def test_truncated_multipart_body_is_400_and_nothing_is_kept(
    client: httpx.AsyncClient, writer: dict[str, str], db: AsyncSession, repo: Path, settings: Settings
) -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="cut.nc"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nG0 X1\nG0 X2\n"
    )
    r = await client.post(
        "/api/files", content=body, headers=writer | {"Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert r.status_code == 400
    assert "truncated" in r.json()["detail"]
    await _nothing_written(db, repo, settings, "")


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{}", 415),
        ("multipart/form-data", b"--x--", 400),
        ("multipart/form-data; boundary=x", b"--x--\r\n", 400),  # no files
    ],
)
async def test_malformed_uploads(
    client: httpx.AsyncClient, writer: dict[str, str], content_type: str, body: bytes, status: int
) -> None:
    r = await client.post("/api/files", content=body, headers=writer | {"Content-Type": content_type})
    assert r.status_code == status, r.text


async def test_roles_for_reading_and_uploading(
    client: httpx.AsyncClient, writer: dict[str, str], make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    f = await upload_one(client, writer, "a.nc", b"a")
    await make_user("vic", Role.viewer)
    viewer = await login("vic")
    assert (await upload(client, viewer, {"b.nc": b"b"})).status_code == 403
    # Viewers are the shop floor: work in progress is not theirs to read (tests/api/test_floor_visibility.py).
    assert (await client.get("/api/files", headers=viewer)).json()["items"] == []
    assert (await client.get(f"/api/files/{f['id']}/content", headers=viewer)).status_code == 404
    await make_user("chief", Role.admin)
    await release(client, writer, await login("chief"), f["id"])
    assert (await client.get(f"/api/files/{f['id']}/content", headers=viewer)).content == b"a"
    assert (await client.get("/api/files")).status_code == 401
    assert (await upload(client, {}, {"c.nc": b"c"})).status_code == 401
    assert (await client.delete(f"/api/files/{f['id']}", headers=writer)).status_code == 403
    assert await sql(db, "SELECT count(*) FROM files") == [(1,)]


async def test_unknown_files_are_404(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    for url in ["/api/files/999", "/api/files/999/content", "/api/files/999/versions", "/api/files/999/blame"]:
        assert (await client.get(url, headers=writer)).status_code == 404, url
    assert (await client.get("/api/files/by-path", params={"path": "nope.nc"}, headers=writer)).status_code == 404
    f = await upload_one(client, writer, "a.nc", b"a")
    assert (await client.get(f"/api/files/{f['id']}/content?version=2", headers=writer)).status_code == 404
    assert (await client.get(f"/api/files/{f['id']}/content?commit=abcdef1", headers=writer)).status_code == 404
    assert (await client.get(f"/api/files/{f['id']}/content?version=0", headers=writer)).status_code == 422


async def test_listing_search_sort_and_cursor_pages(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    names = {f"cell{i % 3}/part{i:02d}.nc": b"x" * (i + 1) for i in range(12)}
    for name, data in names.items():
        folder, base = name.split("/")
        await upload(client, writer, {base: data}, folder=folder)

    async def walk(**params: object) -> list[dict[str, object]]:
        out, cursor = [], None
        while True:
            r = await client.get(
                "/api/files", params={**params, "limit": 5, **({"cursor": cursor} if cursor else {})}, headers=writer
            )
            assert r.status_code == 200, r.text
            out += r.json()["items"]
            cursor = r.json()["next_cursor"]
            if not cursor:
                return out

    by_name = await walk(sort="name")
    assert [f["path"] for f in by_name] == sorted(names)
    by_size_desc = await walk(sort="size", order="desc")
    assert [f["size"] for f in by_size_desc] == sorted((len(d) for d in names.values()), reverse=True)
    by_updated = await walk(sort="updated")
    assert [f["path"] for f in by_updated] == list(names)
    found = await walk(q="CELL1/")
    assert {f["path"] for f in found} == {n for n in names if n.startswith("cell1/")}
    page = (await client.get("/api/files", params={"q": "part0", "limit": 3}, headers=writer)).json()
    assert page["total"] is None and len(page["items"]) == 3  # pages do not count every match unless asked
    page = (await client.get("/api/files", params={"q": "part0", "limit": 3, "count": "true"}, headers=writer)).json()
    assert page["total"] == 10 and len(page["items"]) == 3
    literal = (await client.get("/api/files", params={"q": "%"}, headers=writer)).json()
    assert literal["items"] == []  # LIKE wildcards are searched for literally
    bad = await client.get("/api/files", params={"cursor": "garbage!"}, headers=writer)
    assert bad.status_code == 400
    assert (await client.get("/api/files", params={"sort": "owner"}, headers=writer)).status_code == 422


async def test_versions_download_diff_and_blame(client: httpx.AsyncClient, writer: dict[str, str], repo: Path) -> None:
    v1 = b"G0 X0\nG1 X1\nM30\n"
    v2 = b"G0 X0\nG1 X2\nM30\n"
    v3 = b"G0 X0\nG1 X2\nG1 Y5\nM30\n"
    f = await upload_one(client, writer, "op.nc", v1)
    await new_version(client, writer, f["id"], v2, "feed change")
    await new_version(client, writer, f["id"], v3, "extra pass")
    for n, data in enumerate([v1, v2, v3], start=1):
        got = await client.get(f"/api/files/{f['id']}/content", params={"version": n}, headers=writer)
        assert got.content == data and got.headers["x-camvault-version"] == str(n)
    history = (await client.get(f"/api/files/{f['id']}/versions", headers=writer)).json()
    assert [v["version"] for v in history["items"]] == [3, 2, 1]
    assert [v["message"] for v in history["items"]] == ["extra pass", "feed change", ""]
    commit_v2 = history["items"][1]["commit"]
    by_commit = await client.get(f"/api/files/{f['id']}/content", params={"commit": commit_v2[:10]}, headers=writer)
    assert by_commit.content == v2
    paged = (await client.get(f"/api/files/{f['id']}/versions", params={"limit": 2}, headers=writer)).json()
    rest = (
        await client.get(f"/api/files/{f['id']}/versions", params={"cursor": paged["next_cursor"]}, headers=writer)
    ).json()
    assert [v["version"] for v in paged["items"] + rest["items"]] == [3, 2, 1]
    diff = (await client.get(f"/api/files/{f['id']}/diff", params={"from": 1, "to": 2}, headers=writer)).json()
    assert diff["kind"] == "text"
    assert "-G1 X1\n+G1 X2\n" in diff["diff"]
    blame = (await client.get(f"/api/files/{f['id']}/blame", headers=writer)).json()
    assert [(line["text"], line["version"]) for line in blame["lines"]] == [
        ("G0 X0", 1),
        ("G1 X2", 2),
        ("G1 Y5", 3),
        ("M30", 1),
    ]
    assert all(line["author"] for line in blame["lines"])
    assert (
        await client.get(f"/api/files/{f['id']}/diff", params={"from": 1, "to": 9}, headers=writer)
    ).status_code == 404


async def test_binary_diff_gives_sizes_and_hashes(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    f = await upload_one(client, writer, "part.mcam", b"\x00\x01\x02" * 100)
    await new_version(client, writer, f["id"], b"\x00\xff" * 500)
    diff = (await client.get(f"/api/files/{f['id']}/diff", params={"from": 1}, headers=writer)).json()
    assert diff["kind"] == "binary" and diff["identical"] is False
    assert [s["size"] for s in diff["sides"]] == [300, 1000]
    assert (await client.get(f"/api/files/{f['id']}/blame", headers=writer)).status_code == 400


async def test_delete_and_restore_keep_history(
    client: httpx.AsyncClient, writer: dict[str, str], admin: Admin, db: AsyncSession, repo: Path
) -> None:
    _, boss = admin
    f = await upload_one(client, writer, "fixture.nc", b"v1")
    await new_version(client, writer, f["id"], b"v2")
    gone = await client.delete(f"/api/files/{f['id']}", headers=boss)
    assert gone.status_code == 200 and gone.json()["deleted_by"] == "boss"
    assert "fixture.nc" not in git(repo, "ls-tree", "-r", "--name-only", "main")
    assert (await client.get("/api/files", headers=writer)).json()["items"] == []
    assert (await client.get(f"/api/files/{f['id']}", headers=writer)).status_code == 404
    deleted = (await client.get("/api/files", params={"deleted": "true"}, headers=boss)).json()["items"]
    assert [d["path"] for d in deleted] == ["fixture.nc"]
    assert (await client.get("/api/files", params={"deleted": "true"}, headers=writer)).status_code == 403
    assert (await client.delete(f"/api/files/{f['id']}", headers=boss)).status_code == 404
    restored = await client.post(f"/api/files/{f['id']}/restore", headers=boss)
    assert restored.status_code == 200 and restored.json()["version"] == 2
    assert git(repo, "cat-file", "-p", "main:fixture.nc") == "v2"
    history = (await client.get(f"/api/files/{f['id']}/versions", headers=writer)).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert (await client.post(f"/api/files/{f['id']}/restore", headers=boss)).status_code == 404
    actions = await sql(
        db, "SELECT action FROM audit_events WHERE action IN ('file.deleted','file.restored') ORDER BY id"
    )
    assert actions == [("file.deleted",), ("file.restored",)]


async def test_restore_refuses_when_the_path_was_reused(
    client: httpx.AsyncClient, writer: dict[str, str], admin: Admin
) -> None:
    _, boss = admin
    old = await upload_one(client, writer, "a.nc", b"old")
    await client.delete(f"/api/files/{old['id']}", headers=boss)
    await upload_one(client, writer, "A.nc", b"new")
    assert (await client.post(f"/api/files/{old['id']}/restore", headers=boss)).status_code == 409


async def test_delete_refuses_a_locked_file_unless_forced(
    client: httpx.AsyncClient, writer: dict[str, str], admin: Admin, db: AsyncSession
) -> None:
    _, boss = admin
    f = await upload_one(client, writer, "held.nc", b"x")
    await client.post(f"/api/files/{f['id']}/checkout", json={"message": "editing"}, headers=writer)
    refused = await client.delete(f"/api/files/{f['id']}", headers=boss)
    assert refused.status_code == 409
    assert refused.json()["detail"]["holder"] == "anna"
    forced = await client.delete(f"/api/files/{f['id']}", params={"force": "true"}, headers=boss)
    assert forced.status_code == 200
    assert await sql(db, "SELECT count(*) FROM locks") == [(0,)]


async def test_folder_listing_and_subfolders(client: httpx.AsyncClient, writer: dict[str, str], admin: Admin) -> None:
    _, boss = admin
    layout = {
        "top.nc": "",
        "a.nc": "jobs/1042",
        "b.nc": "jobs/1042",
        "deep.nc": "jobs/1042/fixtures",
        "c.nc": "Jobs/2001",  # another spelling of the same folder
        "Straße.nc": "jobs",
        "x.nc": "jobs_archive",  # shares the prefix "jobs" but is another folder
        "gone.nc": "old",
    }
    ids = {}
    for name, folder in layout.items():
        ids[name] = (await upload_one(client, writer, name, b"x") if not folder else None) or (
            (await upload(client, writer, {name: b"x"}, folder=folder)).json()["files"][0]
        )
    await client.delete(f"/api/files/{ids['gone.nc']['id']}", headers=boss)

    async def folder_files(folder: str, **params: object) -> list[str]:
        r = await client.get("/api/files", params={"folder": folder, **params}, headers=writer)
        assert r.status_code == 200, r.text
        return [f["path"] for f in r.json()["items"]]

    async def subfolders(parent: str) -> list[tuple[str, str, int]]:
        r = await client.get("/api/files/folders", params={"parent": parent}, headers=writer)
        assert r.status_code == 200, r.text
        return [(f["name"], f["path"], f["files"]) for f in r.json()["folders"]]

    assert await folder_files("") == ["top.nc"]
    assert await subfolders("") == [("Jobs", "Jobs", 5), ("jobs_archive", "jobs_archive", 1)]  # "old" is empty
    assert await folder_files("jobs") == ["jobs/Straße.nc"]
    assert await folder_files("JOBS/") == ["jobs/Straße.nc"]
    assert await subfolders("jobs") == [("1042", "jobs/1042", 3), ("2001", "jobs/2001", 1)]
    assert await folder_files("jobs/1042") == ["jobs/1042/a.nc", "jobs/1042/b.nc"]
    assert await folder_files("jobs/1042", recursive="true") == [
        "jobs/1042/a.nc",
        "jobs/1042/b.nc",
        "jobs/1042/fixtures/deep.nc",
    ]
    assert await folder_files("jobs", q="b.nc", recursive="true") == ["jobs/1042/b.nc"]
    assert await subfolders("jobs/1042/fixtures") == []
    assert await folder_files("nowhere") == []
    # The whole vault when no folder is given, as before.
    everything = (await client.get("/api/files", params={"limit": 100, "count": "true"}, headers=writer)).json()
    assert everything["total"] == 7
    assert (await client.get("/api/files/folders", params={"parent": "a\x00"}, headers=writer)).status_code == 422
