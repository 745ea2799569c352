"""The shop floor (viewers, VIEWERS_SEE_WORK=false) never obtains work-in-progress bytes, by any route.

The vault: `jobs/op10.nc` released as A (version 1) and changed since (version 2, in work); `jobs/op20.nc`
never released; `jobs/op30.nc` in review; `old/op40.nc` released, then obsolete. The floor sees op10 at A
and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser
from tests.vault import new_version, release, transition, upload_one

Headers = dict[str, str]
A = b"G0 X0\nG1 X10 F200\nM30\n"
WIP = b"G0 X0\nG1 X10 F9999 (work in progress)\nM30\n"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return settings.model_copy(update={"edit_cooldown_seconds": 0, **getattr(request, "param", {})})


@dataclass
class Vault:
    anna: Headers
    boss: Headers
    olaf: Headers
    released: dict[str, Any]  # op10 as the approval left it (revision A)
    head: dict[str, Any]  # op10's metadata now (version 2)
    never: dict[str, Any]
    in_review: dict[str, Any]
    obsolete: dict[str, Any]


@pytest.fixture
async def vault(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> Vault:
    await make_user("anna", Role.user)
    await make_user("boss", Role.admin)
    await make_user("olaf", Role.viewer)
    anna, boss, olaf = await login("anna"), await login("boss"), await login("olaf")
    op10 = await upload_one(client, anna, "jobs/op10.nc", A)
    released = (await release(client, anna, boss, op10["id"]))["file"]
    await new_version(client, anna, op10["id"], WIP)
    head = (await client.get(f"/api/files/{op10['id']}", headers=anna)).json()
    never = await upload_one(client, anna, "jobs/op20.nc", WIP)
    in_review = await upload_one(client, anna, "jobs/op30.nc", WIP)
    assert (await transition(client, anna, in_review["id"], "submit")).status_code == 200
    obsolete = await upload_one(client, anna, "old/op40.nc", b"old\n")
    await release(client, anna, boss, obsolete["id"])
    assert (await transition(client, boss, obsolete["id"], "obsolete", "scrapped")).status_code == 200
    # A lock on a file the floor cannot see, and one on a file it can.
    assert (await client.post(f"/api/files/{never['id']}/checkout", json={}, headers=anna)).status_code == 200
    assert (await client.post(f"/api/files/{op10['id']}/checkout", json={}, headers=anna)).status_code == 200
    return Vault(anna, boss, olaf, released, head, never, in_review, obsolete)


async def test_listing_search_folders_and_metadata_show_released_revisions_only(
    client: httpx.AsyncClient, vault: Vault
) -> None:
    page = (await client.get("/api/files", params={"count": "true"}, headers=vault.olaf)).json()
    assert [(f["path"], f["version"], f["size"], f["blob_sha"]) for f in page["items"]] == [
        ("jobs/op10.nc", 1, len(A), vault.released["blob_sha"])
    ]
    assert page["total"] == 1 and page["items"][0]["state"] == "released" and page["items"][0]["review"] is None
    assert page["items"][0]["revision"]["label"] == "A"
    for params in ({"q": "op"}, {"folder": "jobs"}, {"state": "wip"}, {"released_only": "false"}, {"sort": "size"}):
        items = (await client.get("/api/files", params=params, headers=vault.olaf)).json()["items"]
        assert [f["path"] for f in items] in (["jobs/op10.nc"], []), params
        assert all(f["version"] == 1 for f in items)
    assert (await client.get("/api/files", params={"q": "op20"}, headers=vault.olaf)).json()["items"] == []
    folders = (await client.get("/api/files/folders", headers=vault.olaf)).json()["folders"]
    # No "old": its only file is obsolete.
    assert folders == [{"name": "jobs", "path": "jobs", "files": 1, "empty": False}]

    meta = (await client.get(f"/api/files/{vault.head['id']}", headers=vault.olaf)).json()
    revisions = (await client.get(f"/api/files/{vault.head['id']}/revisions", headers=vault.olaf)).json()["items"]
    assert (meta["version"], meta["blob_sha"]) == (1, vault.released["blob_sha"])
    assert meta["head_commit"] == revisions[0]["commit"]  # the released branch's commit, not main's
    by_path = await client.get("/api/files/by-path", params={"path": "jobs/op10.nc"}, headers=vault.olaf)
    assert by_path.json()["version"] == 1
    for hidden in (vault.never, vault.in_review, vault.obsolete):
        assert (await client.get(f"/api/files/{hidden['id']}", headers=vault.olaf)).status_code == 404
        r = await client.get("/api/files/by-path", params={"path": hidden["path"]}, headers=vault.olaf)
        assert r.status_code == 404
    locks = (await client.get("/api/locks", headers=vault.olaf)).json()
    assert [lk["path"] for lk in locks] == ["jobs/op10.nc"]


async def test_content_by_every_address_gives_released_bytes_or_404(client: httpx.AsyncClient, vault: Vault) -> None:
    url = f"/api/files/{vault.head['id']}/content"
    latest = await client.get(url, headers=vault.olaf)
    assert latest.status_code == 200 and latest.content == A and latest.headers["x-camvault-version"] == "1"
    assert (await client.get(url, params={"version": 1}, headers=vault.olaf)).content == A
    assert (await client.get(url, params={"revision": "A"}, headers=vault.olaf)).content == A
    revisions = (await client.get(f"/api/files/{vault.head['id']}/revisions", headers=vault.olaf)).json()["items"]
    released_commit = revisions[0]["commit"]
    assert (await client.get(url, params={"commit": released_commit}, headers=vault.olaf)).content == A
    assert (
        await client.get(url, params={"commit": vault.released["head_commit"][:10]}, headers=vault.olaf)
    ).content == A
    for params in (
        {"version": 2},
        {"commit": vault.head["head_commit"]},
        {"commit": vault.head["head_commit"][:7]},
        {"revision": "B"},
    ):
        refused = await client.get(url, params=params, headers=vault.olaf)
        assert refused.status_code == 404, params
        assert b"9999" not in refused.content
    for hidden in (vault.never, vault.in_review, vault.obsolete):
        r = await client.get(f"/api/files/{hidden['id']}/content", headers=vault.olaf)
        assert r.status_code == 404 and b"9999" not in r.content
    # Users read the head as before.
    assert (await client.get(url, headers=vault.anna)).content == WIP


async def test_download_links_check_again_as_the_links_user(client: httpx.AsyncClient, vault: Vault) -> None:
    file_id = vault.head["id"]
    assert (await client.post(f"/api/files/{vault.never['id']}/download-link", headers=vault.olaf)).status_code == 404
    r = await client.post(f"/api/files/{file_id}/download-link", params={"version": 2}, headers=vault.olaf)
    assert r.status_code == 404
    link = (await client.post(f"/api/files/{file_id}/download-link", headers=vault.olaf)).json()["url"]
    assert (await client.get(link)).content == A
    # The link opens this file for olaf; asking it for another version is checked as olaf.
    assert (await client.get(link + "&" + urlencode({"version": 2}))).status_code == 404
    assert (await client.get(link + "&" + urlencode({"commit": vault.head["head_commit"]}))).status_code == 404
    by_label = (
        await client.post(f"/api/files/{file_id}/download-link", params={"revision": "A"}, headers=vault.olaf)
    ).json()
    assert (await client.get(by_label["url"])).content == A


async def test_history_diff_blame_and_revisions_stay_on_released_versions(
    client: httpx.AsyncClient, vault: Vault
) -> None:
    file_id = vault.head["id"]
    history = (await client.get(f"/api/files/{file_id}/versions", headers=vault.olaf)).json()["items"]
    assert [(v["version"], v["revision"]) for v in history] == [(1, "A")]
    full = (await client.get(f"/api/files/{file_id}/versions", headers=vault.anna)).json()["items"]
    assert [(v["version"], v["revision"]) for v in full] == [(2, None), (1, "A")]

    assert (
        await client.get(f"/api/files/{file_id}/diff", params={"from": 1, "to": 2}, headers=vault.olaf)
    ).status_code == 404
    same = await client.get(f"/api/files/{file_id}/diff", params={"from": 1}, headers=vault.olaf)
    assert same.status_code == 200 and same.json()["to_version"] == 1 and same.json()["diff"] == ""
    assert (
        await client.get(f"/api/files/{file_id}/blame", params={"version": 2}, headers=vault.olaf)
    ).status_code == 404
    blame = (await client.get(f"/api/files/{file_id}/blame", headers=vault.olaf)).json()
    assert blame["version"] == 1 and "".join(line["text"] for line in blame["lines"]) == A.decode().replace("\n", "")

    revisions = (await client.get(f"/api/files/{file_id}/revisions", headers=vault.olaf)).json()["items"]
    assert [r["label"] for r in revisions] == ["A"]
    for hidden in (vault.never, vault.in_review, vault.obsolete):
        for path in ("versions", "revisions", "blame", "diff?from=1"):
            r = await client.get(f"/api/files/{hidden['id']}/{path}", headers=vault.olaf)
            assert r.status_code == 404, (hidden["path"], path)
            assert b"9999" not in r.content
    assert (await client.get("/api/reviews", headers=vault.olaf)).status_code == 403


@pytest.mark.parametrize("settings", [{"viewers_see_work": True}], indirect=True)
async def test_viewers_see_work_when_the_shop_says_so(client: httpx.AsyncClient, vault: Vault) -> None:
    items = (await client.get("/api/files", headers=vault.olaf)).json()["items"]
    assert [f["path"] for f in items] == ["jobs/op10.nc", "jobs/op20.nc", "jobs/op30.nc", "old/op40.nc"]
    assert (await client.get(f"/api/files/{vault.head['id']}/content", headers=vault.olaf)).content == WIP
    floor = (await client.get("/api/files", params={"released_only": "true"}, headers=vault.olaf)).json()["items"]
    assert [(f["path"], f["version"]) for f in floor] == [("jobs/op10.nc", 1)]
