"""The release lifecycle through the API: states, revisions, approvals, the released branch, audit."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import PASSWORD, Login, MakeUser, sql
from tests.vault import check_in, git, new_version, release, transition, upload_one

Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings with this test's changes (`@pytest.mark.parametrize("settings", [{…}], indirect=True)`)."""
    return settings.model_copy(update={"edit_cooldown_seconds": 0, **getattr(request, "param", {})})


@dataclass
class People:
    anna: Headers  # user (programmer)
    ben: Headers  # user
    bob: Headers  # user marked approver
    boss: Headers  # admin
    olaf: Headers  # viewer (shop floor)

    def by_role(self, name: str) -> Headers:
        return {"admin": self.boss, "user": self.ben, "approver": self.bob, "viewer": self.olaf}[name]


async def make_approver(client: httpx.AsyncClient, admin: Headers, username: str) -> dict[str, Any]:
    users = (await client.get("/api/admin/users", params={"q": username}, headers=admin)).json()["items"]
    [user] = [u for u in users if u["username"] == username]
    r = await client.patch(f"/api/admin/users/{user['id']}", json={"is_approver": True}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
async def people(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> People:
    for name, role in (("anna", Role.user), ("ben", Role.user), ("bob", Role.user), ("boss", Role.admin)):
        await make_user(name, role)
    await make_user("olaf", Role.viewer)
    boss = await login("boss")
    await make_approver(client, boss, "bob")
    return People(await login("anna"), await login("ben"), await login("bob"), boss, await login("olaf"))


def released_tree(settings: Settings) -> dict[str, str]:
    """path -> content of the released branch's tip (empty when it has no commit)."""
    repo = settings.data_dir / "vault.git"
    if not git(repo, "for-each-ref", "refs/heads/released").strip():
        return {}
    paths = [p for p in git(repo, "ls-tree", "-r", "--name-only", "-z", "released").split("\0") if p]
    return {p: git(repo, "show", f"released:{p}") for p in paths}


def released_log(settings: Settings) -> str:
    return git(settings.data_dir / "vault.git", "log", "--format=%an|%B", "released")


async def test_submit_approve_release_then_new_work_then_revision_b(
    client: httpx.AsyncClient, people: People, settings: Settings, db: AsyncSession
) -> None:
    part = await upload_one(client, people.anna, "jobs/op10.nc", b"G0 X0\n")
    assert part["state"] == "wip" and part["revision"] is None and part["review"] is None

    r = await transition(client, people.anna, part["id"], "submit", "first cut, ready for prove-out")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["file"]["state"] == "in_review"
    assert body["file"]["review"]["submitted_by"] == "anna" and body["file"]["review"]["version"] == 1
    assert body["review"]["status"] == "open" and body["review"]["comment"] == "first cut, ready for prove-out"

    # Frozen while in review: no check-out (409 naming the review), no second submit.
    r = await client.post(f"/api/files/{part['id']}/checkout", json={"message": "tweak"}, headers=people.ben)
    assert r.status_code == 409 and "in review" in r.json()["detail"] and "submitted by anna" in r.json()["detail"]
    assert (await transition(client, people.ben, part["id"], "submit")).status_code == 409

    r = await transition(client, people.bob, part["id"], "approve", "measured OK on the DMU 50")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["released"] == "A"
    assert body["file"]["state"] == "released"
    assert body["file"]["revision"]["label"] == "A" and body["file"]["revision"]["version"] == 1
    assert body["review"]["status"] == "approved" and body["review"]["revision"] == "A"
    assert [a["user"] for a in body["review"]["approvals"]] == ["bob"]
    assert released_tree(settings) == {"jobs/op10.nc": "G0 X0\n"}
    log = released_log(settings)
    assert log.startswith("bob|Release jobs/op10.nc as revision A (version 1)")  # authored by the approver
    for trailer in ("Camvault-Action: release", "Camvault-Revision: A", "Camvault-Approved-By: bob"):
        assert trailer in log
    assert "measured OK on the DMU 50" in log

    # "Released A, B in work": the floor keeps A while anna works on version 2.
    await new_version(client, people.anna, part["id"], b"G0 X0\nG1 X5 F300\n")
    meta = (await client.get(f"/api/files/{part['id']}", headers=people.anna)).json()
    assert meta["state"] == "wip" and meta["version"] == 2 and meta["revision"]["label"] == "A"
    assert (await client.get(f"/api/files/{part['id']}/content", headers=people.olaf)).content == b"G0 X0\n"
    assert released_tree(settings) == {"jobs/op10.nc": "G0 X0\n"}

    second = await release(client, people.anna, people.boss, part["id"])
    assert second["released"] == "B" and second["file"]["revision"]["version"] == 2
    assert released_tree(settings) == {"jobs/op10.nc": "G0 X0\nG1 X5 F300\n"}
    assert (await client.get(f"/api/files/{part['id']}/content", headers=people.olaf)).content.endswith(b"F300\n")
    old = await client.get(f"/api/files/{part['id']}/content", params={"revision": "a"}, headers=people.olaf)
    assert old.status_code == 200 and old.content == b"G0 X0\n"

    revisions = (await client.get(f"/api/files/{part['id']}/revisions", headers=people.anna)).json()["items"]
    assert [(r["label"], r["version"], r["current"], r["approved_by"]) for r in revisions] == [
        ("B", 2, True, ["boss"]),
        ("A", 1, False, ["bob"]),
    ]
    history = (await client.get(f"/api/files/{part['id']}/versions", headers=people.anna)).json()["items"]
    assert [(v["version"], v["revision"]) for v in history] == [(2, "B"), (1, "A")]

    actions = await sql(
        db, "SELECT action, actor_name, file_id FROM audit_events WHERE action LIKE 'lifecycle.%' ORDER BY id"
    )
    assert actions == [
        ("lifecycle.submitted", "anna", part["id"]),
        ("lifecycle.approved", "bob", part["id"]),
        ("lifecycle.released", "bob", part["id"]),
        ("lifecycle.submitted", "anna", part["id"]),
        ("lifecycle.approved", "boss", part["id"]),
        ("lifecycle.released", "boss", part["id"]),
    ]
    approved = await sql(db, "SELECT details FROM audit_events WHERE action = 'lifecycle.approved' ORDER BY id")
    assert approved[0][0]["comment"] == "measured OK on the DMU 50"  # type: ignore[index]


# ----- every transition by every role ------------------------------------------------------------------------

ROLES = ("admin", "user", "approver", "viewer")
ALLOWED = {
    "submit": {"admin", "user", "approver"},
    "approve": {"admin", "approver"},
    "reject": {"admin", "approver"},
    "obsolete": {"admin", "approver"},
    "reinstate": {"admin"},
}
AFTER = {"submit": "in_review", "approve": "released", "reject": "wip", "obsolete": "obsolete", "reinstate": "released"}


async def file_ready_for(transition_name: str, client: httpx.AsyncClient, people: People) -> dict[str, Any]:
    """A file in the state the transition starts from (submitted by anna where a review is open)."""
    part = await upload_one(client, people.anna, "cell/op20.nc", b"G0\n")
    if transition_name in ("approve", "reject"):
        assert (await transition(client, people.anna, part["id"], "submit")).status_code == 200
    if transition_name in ("obsolete", "reinstate"):
        await release(client, people.anna, people.boss, part["id"])
    if transition_name == "reinstate":
        assert (await transition(client, people.boss, part["id"], "obsolete", "replaced")).status_code == 200
    return part


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
async def test_every_transition_by_every_role(
    client: httpx.AsyncClient, people: People, db: AsyncSession, action: str, role: str
) -> None:
    part = await file_ready_for(action, client, people)
    before = await sql(db, "SELECT state, revision_id FROM files")
    audit_before = await sql(db, "SELECT count(*) FROM audit_events")
    r = await transition(client, people.by_role(role), part["id"], action, "a reason")
    if role in ALLOWED[action]:
        assert r.status_code == 200, r.text
        assert r.json()["file"]["state"] == AFTER[action]
    else:
        assert r.status_code == 403, r.text
        assert "approver" in r.json()["detail"] or "admin" in r.json()["detail"] or "iewer" in r.json()["detail"]
        assert await sql(db, "SELECT state, revision_id FROM files") == before
        assert await sql(db, "SELECT count(*) FROM audit_events") == audit_before


@pytest.mark.parametrize(
    ("setup", "action", "comment", "status", "says"),
    [
        ("wip", "approve", None, 409, "not in review"),
        ("wip", "reject", "no", 409, "not in review"),
        ("wip", "obsolete", "old", 409, "never released"),
        ("wip", "reinstate", None, 409, "not obsolete"),
        ("in_review", "submit", None, 409, "in review already"),
        ("in_review", "obsolete", "old", 409, "approve or reject it first"),
        ("in_review", "reject", None, 422, "comment is required"),
        ("in_review", "reject", "   ", 422, "comment is required"),
        ("released", "submit", None, 409, "released already"),
        ("released", "approve", None, 409, "not in review"),
        ("released", "obsolete", None, 422, "comment is required"),
        ("obsolete", "submit", None, 409, "obsolete"),
        ("obsolete", "obsolete", "again", 409, "obsolete already"),
        ("checked_out", "submit", None, 409, "checked out by ben"),
        ("released_checked_out", "obsolete", "gone", 409, "checked out by ben"),
    ],
)
async def test_transitions_refused_by_state(
    client: httpx.AsyncClient,
    people: People,
    db: AsyncSession,
    setup: str,
    action: str,
    comment: str | None,
    status: int,
    says: str,
) -> None:
    part = await upload_one(client, people.anna, "cell/op30.nc", b"G0\n")
    if setup == "in_review":
        assert (await transition(client, people.anna, part["id"], "submit")).status_code == 200
    if setup in ("released", "obsolete", "released_checked_out"):
        await release(client, people.anna, people.boss, part["id"])
    if setup == "obsolete":
        assert (await transition(client, people.boss, part["id"], "obsolete", "replaced")).status_code == 200
    if setup in ("checked_out", "released_checked_out"):
        assert (await client.post(f"/api/files/{part['id']}/checkout", json={}, headers=people.ben)).status_code == 200
    before = await sql(db, "SELECT state, revision_id FROM files")
    r = await transition(client, people.boss, part["id"], action, comment)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert says in (detail if isinstance(detail, str) else detail["message"]), detail
    assert await sql(db, "SELECT state, revision_id FROM files") == before


async def test_unknown_and_deleted_files_are_404(client: httpx.AsyncClient, people: People) -> None:
    for action in ALLOWED:
        assert (await transition(client, people.boss, 999, action, "x")).status_code == 404
    part = await upload_one(client, people.anna, "gone.nc", b"G0\n")
    assert (await client.delete(f"/api/files/{part['id']}", headers=people.boss)).status_code == 200
    assert (await transition(client, people.anna, part["id"], "submit")).status_code == 404
    assert (await client.get(f"/api/files/{part['id']}/revisions", headers=people.anna)).status_code == 200


# ----- approvals: four eyes, several approvers ---------------------------------------------------------------


async def test_four_eyes_the_submitter_may_not_approve(
    client: httpx.AsyncClient, people: People, db: AsyncSession
) -> None:
    part = await upload_one(client, people.bob, "four/eyes.nc", b"G0\n")
    assert (await transition(client, people.bob, part["id"], "submit")).status_code == 200
    r = await transition(client, people.bob, part["id"], "approve")
    assert r.status_code == 403 and "four-eyes" in r.json()["detail"]
    assert await sql(db, "SELECT count(*) FROM review_approvals") == [(0,)]
    # Listed as awaiting someone else, never the submitter.
    mine = (await client.get("/api/reviews", headers=people.bob)).json()["items"]
    assert mine == []
    theirs = (await client.get("/api/reviews", headers=people.boss)).json()["items"]
    assert [(i["path"], i["can_approve"]) for i in theirs] == [("four/eyes.nc", True)]
    assert (await transition(client, people.boss, part["id"], "approve")).json()["released"] == "A"


@pytest.mark.parametrize("settings", [{"allow_self_approval": True}], indirect=True)
async def test_self_approval_when_allowed(client: httpx.AsyncClient, people: People) -> None:
    part = await upload_one(client, people.bob, "self.nc", b"G0\n")
    assert (await transition(client, people.bob, part["id"], "submit")).status_code == 200
    r = await transition(client, people.bob, part["id"], "approve")
    assert r.status_code == 200 and r.json()["released"] == "A"


@pytest.mark.parametrize("settings", [{"release_approvals": 2}], indirect=True)
async def test_two_approvals_needed(
    client: httpx.AsyncClient, people: People, settings: Settings, db: AsyncSession
) -> None:
    part = await upload_one(client, people.anna, "two/op10.nc", b"G0\n")
    submitted = (await transition(client, people.anna, part["id"], "submit")).json()
    assert submitted["review"]["approvals_required"] == 2

    first = await transition(client, people.bob, part["id"], "approve", "looks right")
    assert first.status_code == 200 and first.json()["released"] is None
    assert first.json()["file"]["state"] == "in_review"
    assert first.json()["file"]["review"]["approved_by"] == ["bob"]
    again = await transition(client, people.bob, part["id"], "approve")
    assert again.status_code == 409 and "needs another approver" in again.json()["detail"]
    assert released_tree(settings) == {}
    assert (await client.get(f"/api/files/{part['id']}", headers=people.olaf)).status_code == 404

    second = await transition(client, people.boss, part["id"], "approve", "ran it")
    assert second.json()["released"] == "A"
    assert second.json()["review"]["approvals"][1]["comment"] == "ran it"
    revisions = (await client.get(f"/api/files/{part['id']}/revisions", headers=people.anna)).json()["items"]
    assert revisions[0]["approved_by"] == ["bob", "boss"]
    log = released_log(settings)
    assert "Camvault-Approved-By: bob\nCamvault-Approved-By: boss" in log
    assert "Camvault-Submitted-By: anna" in log
    assert await sql(
        db,
        "SELECT details->>'approvals', details->>'required' FROM audit_events "
        "WHERE action = 'lifecycle.approved' ORDER BY id",
    ) == [("1", "2"), ("2", "2")]


# ----- labels ----------------------------------------------------------------------------------------------


async def test_labels_never_repeat_or_go_back(client: httpx.AsyncClient, people: People) -> None:
    part = await upload_one(client, people.anna, "labels.nc", b"1\n")
    labels = [(await release(client, people.anna, people.bob, part["id"]))["released"]]
    for n in (2, 3):
        await new_version(client, people.anna, part["id"], f"{n}\n".encode())
        labels.append((await release(client, people.anna, people.bob, part["id"]))["released"])
    assert labels == ["A", "B", "C"]
    assert (await transition(client, people.bob, part["id"], "obsolete", "superseded")).status_code == 200
    back = (await transition(client, people.boss, part["id"], "reinstate")).json()
    assert back["file"]["state"] == "released" and back["file"]["revision"]["label"] == "C"
    await new_version(client, people.anna, part["id"], b"4\n")
    assert (await release(client, people.anna, people.bob, part["id"]))["released"] == "D"


@pytest.mark.parametrize("settings", [{"revision_scheme": "numeric"}], indirect=True)
async def test_numeric_revisions(client: httpx.AsyncClient, people: People) -> None:
    part = await upload_one(client, people.anna, "numeric.nc", b"1\n")
    assert (await release(client, people.anna, people.bob, part["id"]))["released"] == "1"
    await new_version(client, people.anna, part["id"], b"2\n")
    assert (await release(client, people.anna, people.bob, part["id"]))["released"] == "2"
    got = await client.get(f"/api/files/{part['id']}/content", params={"revision": "1"}, headers=people.olaf)
    assert got.content == b"1\n"


# ----- reject, obsolete, reinstate, delete, restore ----------------------------------------------------------


async def test_reject_sends_it_back_to_work(client: httpx.AsyncClient, people: People, db: AsyncSession) -> None:
    part = await upload_one(client, people.anna, "rej.nc", b"G0\n")
    await transition(client, people.anna, part["id"], "submit")
    r = await transition(client, people.bob, part["id"], "reject", "feed too high on the finish pass")
    assert r.status_code == 200, r.text
    assert r.json()["file"]["state"] == "wip" and r.json()["review"]["status"] == "rejected"
    assert r.json()["review"]["close_comment"] == "feed too high on the finish pass"
    assert (await client.post(f"/api/files/{part['id']}/checkout", json={}, headers=people.anna)).status_code == 200
    assert (await check_in(client, people.anna, part["id"], b"G0 F200\n")).status_code == 200
    assert (await release(client, people.anna, people.bob, part["id"]))["released"] == "A"
    rejected = await sql(
        db,
        "SELECT actor_name, subject_user_id, details->>'comment' FROM audit_events WHERE action = 'lifecycle.rejected'",
    )
    assert rejected[0][0] == "bob" and rejected[0][2] == "feed too high on the finish pass"
    mine = (await client.get("/api/reviews", params={"scope": "submitted"}, headers=people.anna)).json()["items"]
    assert [(i["status"], i["version"]) for i in mine] == [("approved", 2), ("rejected", 1)]


async def test_obsolete_takes_it_off_the_floor_and_reinstate_brings_it_back(
    client: httpx.AsyncClient, people: People, settings: Settings
) -> None:
    keep = await upload_one(client, people.anna, "keep.nc", b"keep\n")
    part = await upload_one(client, people.anna, "old/op10.nc", b"old\n")
    await release(client, people.anna, people.bob, keep["id"])
    await release(client, people.anna, people.bob, part["id"])
    assert set(released_tree(settings)) == {"keep.nc", "old/op10.nc"}

    r = await transition(client, people.bob, part["id"], "obsolete", "fixture scrapped")
    assert r.status_code == 200 and r.json()["file"]["state"] == "obsolete"
    assert released_tree(settings) == {"keep.nc": "keep\n"}
    assert "Camvault-Action: obsolete" in released_log(settings)
    assert (await client.post(f"/api/files/{part['id']}/checkout", json={}, headers=people.anna)).status_code == 409
    assert (await client.get(f"/api/files/{part['id']}", headers=people.olaf)).status_code == 404
    listed = (await client.get("/api/files", headers=people.olaf)).json()["items"]
    assert [f["path"] for f in listed] == ["keep.nc"]
    obsolete = (await client.get("/api/files", params={"state": "obsolete"}, headers=people.anna)).json()["items"]
    assert [f["path"] for f in obsolete] == ["old/op10.nc"]

    back = await transition(client, people.boss, part["id"], "reinstate", "fixture rebuilt")
    assert back.status_code == 200 and back.json()["file"]["state"] == "released"
    assert released_tree(settings) == {"keep.nc": "keep\n", "old/op10.nc": "old\n"}
    assert (await client.get(f"/api/files/{part['id']}/content", headers=people.olaf)).content == b"old\n"


async def test_deleting_takes_a_revision_off_the_released_branch_and_restoring_brings_it_back(
    client: httpx.AsyncClient, people: People, settings: Settings, db: AsyncSession
) -> None:
    part = await upload_one(client, people.anna, "del/op10.nc", b"x\n")
    await release(client, people.anna, people.bob, part["id"])
    assert (await client.delete(f"/api/files/{part['id']}", headers=people.boss)).status_code == 200
    assert released_tree(settings) == {}
    assert (await client.get(f"/api/files/{part['id']}/content", headers=people.olaf)).status_code == 404
    assert (await client.post(f"/api/files/{part['id']}/restore", headers=people.boss)).status_code == 200
    assert released_tree(settings) == {"del/op10.nc": "x\n"}

    # A file deleted while in review: the review is withdrawn.
    other = await upload_one(client, people.anna, "del/op20.nc", b"y\n")
    await transition(client, people.anna, other["id"], "submit")
    assert (await client.delete(f"/api/files/{other['id']}", headers=people.boss)).status_code == 200
    assert await sql(db, "SELECT status, close_comment FROM reviews WHERE file_id = :f", f=other["id"]) == [
        ("withdrawn", "file deleted")
    ]
    restored = (await client.post(f"/api/files/{other['id']}/restore", headers=people.boss)).json()
    assert restored["state"] == "wip"


async def test_a_released_file_moves_on_the_released_branch_too(
    client: httpx.AsyncClient, people: People, settings: Settings
) -> None:
    """Renaming or moving a released file (or its folder) moves its revision on `released`: the floor's clone
    never holds it twice or at a stale path, and keeps the revision's bytes, not the work in progress."""
    part = await upload_one(client, people.anna, "cell1/op10.nc", b"rev A\n")
    await release(client, people.anna, people.bob, part["id"])
    await new_version(client, people.anna, part["id"], b"work in progress\n")
    wip = await upload_one(client, people.anna, "cell1/op20.nc", b"never released\n")

    r = await client.post(f"/api/files/{part['id']}/move", json={"path": "cell1/OP10-main.nc"}, headers=people.anna)
    assert r.status_code == 200, r.text
    assert released_tree(settings) == {"cell1/OP10-main.nc": "rev A\n"}
    assert "Camvault-Action: move" in released_log(settings)

    r = await client.post("/api/folders/move", json={"path": "cell1", "to": "cells/1"}, headers=people.anna)
    assert r.status_code == 200, r.text
    assert released_tree(settings) == {"cells/1/OP10-main.nc": "rev A\n"}
    assert (await client.get(f"/api/files/{wip['id']}", headers=people.olaf)).status_code == 404

    await release(client, people.anna, people.bob, part["id"])
    assert released_tree(settings) == {"cells/1/OP10-main.nc": "work in progress\n"}
    assert (await client.get(f"/api/files/{part['id']}/content", headers=people.olaf)).content == b"work in progress\n"


# ----- reading: revisions, downloads by label, reviews, the state filter ---------------------------------------


async def test_reviews_list_what_awaits_me_and_what_i_submitted(client: httpx.AsyncClient, people: People) -> None:
    first = await upload_one(client, people.anna, "r/op10.nc", b"v1\n")
    await release(client, people.anna, people.bob, first["id"])
    await new_version(client, people.anna, first["id"], b"v2\n")
    await transition(client, people.anna, first["id"], "submit", "new feeds")
    second = await upload_one(client, people.ben, "r/op20.nc", b"x\n")
    await transition(client, people.ben, second["id"], "submit")

    awaiting = (await client.get("/api/reviews", headers=people.bob)).json()["items"]
    assert [(i["path"], i["version"], i["base"]) for i in awaiting] == [
        ("r/op20.nc", 1, None),
        ("r/op10.nc", 2, {"label": "A", "version": 1}),  # the diff against the last released revision
    ]
    diff = await client.get(f"/api/files/{first['id']}/diff", params={"from": 1, "to": 2}, headers=people.bob)
    assert "-v1" in diff.json()["diff"] and "+v2" in diff.json()["diff"]
    assert (await client.get("/api/reviews", headers=people.ben)).json()["items"] == []  # not an approver
    submitted = (await client.get("/api/reviews", params={"scope": "submitted"}, headers=people.anna)).json()
    assert [(i["path"], i["status"], i["comment"]) for i in submitted["items"]] == [
        ("r/op10.nc", "open", "new feeds"),
        ("r/op10.nc", "approved", ""),
    ]
    page = (await client.get("/api/reviews", params={"scope": "open", "limit": 1}, headers=people.ben)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get("/api/reviews", params={"scope": "open", "cursor": page["next_cursor"]}, headers=people.ben)
    assert [i["path"] for i in rest.json()["items"]] == ["r/op10.nc"]
    assert (await client.get("/api/reviews", headers=people.olaf)).status_code == 403


async def test_state_filter_and_released_only_listing(client: httpx.AsyncClient, people: People) -> None:
    wip = await upload_one(client, people.anna, "s/wip.nc", b"w\n")
    review = await upload_one(client, people.anna, "s/review.nc", b"r\n")
    done = await upload_one(client, people.anna, "s/done.nc", b"d1\n")
    await transition(client, people.anna, review["id"], "submit")
    await release(client, people.anna, people.bob, done["id"])
    await new_version(client, people.anna, done["id"], b"d2 longer\n")  # released A, B in work: state wip

    async def paths(headers: Headers, **params: str) -> list[tuple[str, int]]:
        items = (await client.get("/api/files", params=params, headers=headers)).json()["items"]
        return [(f["path"], f["version"]) for f in items]

    assert await paths(people.anna, state="wip") == [("s/done.nc", 2), ("s/wip.nc", 1)]
    assert await paths(people.anna, state="in_review") == [("s/review.nc", 1)]
    assert await paths(people.anna, state="released") == []
    # The floor's view, for anyone who asks: each file's current revision, not its head.
    assert await paths(people.anna, released_only="true") == [("s/done.nc", 1)]
    assert await paths(people.olaf) == [("s/done.nc", 1)]
    assert wip["state"] == "wip"
    floor = (
        await client.get(
            "/api/files", params={"released_only": "true", "sort": "size", "count": "true"}, headers=people.anna
        )
    ).json()
    assert floor["items"][0]["size"] == 3 and floor["total"] == 1
    folders = (await client.get("/api/files/folders", headers=people.olaf)).json()["folders"]
    assert folders == [{"name": "s", "path": "s", "files": 1, "empty": False}]


# ----- the approver flag -----------------------------------------------------------------------------------


async def test_the_approver_flag_is_set_by_admins_audited_and_never_a_viewers(
    client: httpx.AsyncClient, people: People, db: AsyncSession
) -> None:
    users = {u["username"]: u for u in (await client.get("/api/admin/users", headers=people.boss)).json()["items"]}
    assert users["bob"]["is_approver"] and not users["anna"]["is_approver"]
    changed = await sql(db, "SELECT actor_name, target, details FROM audit_events WHERE action = 'user.updated'")
    assert changed == [("boss", "bob", {"is_approver": [False, True]})]
    # Only admins set it.
    r = await client.patch(f"/api/admin/users/{users['anna']['id']}", json={"is_approver": True}, headers=people.bob)
    assert r.status_code == 403
    # Never a viewer: refused outright, and cleared when an approver becomes a viewer.
    r = await client.patch(f"/api/admin/users/{users['olaf']['id']}", json={"is_approver": True}, headers=people.boss)
    assert r.status_code == 422 and "viewer" in r.json()["detail"]
    r = await client.patch(f"/api/admin/users/{users['bob']['id']}", json={"role": "viewer"}, headers=people.boss)
    assert r.status_code == 200 and r.json()["is_approver"] is False
    me = (await client.get("/api/users/me", headers=people.bob)).json()
    assert me["role"] == "viewer" and me["is_approver"] is False


async def test_git_lfs_lock_is_refused_in_review_and_when_obsolete(client: httpx.AsyncClient, people: People) -> None:
    """Every way in enforces the lifecycle: `git lfs lock` is a check-out through the same service."""
    basic = {"Authorization": "Basic " + base64.b64encode(b"ben:" + PASSWORD.encode()).decode()}
    locks = "/git/vault.git/info/lfs/locks"
    part = await upload_one(client, people.anna, "lfs/op10.nc", b"G0\n")
    await transition(client, people.anna, part["id"], "submit")
    r = await client.post(locks, json={"path": "lfs/op10.nc"}, headers=basic)
    assert r.status_code == 409 and "in review" in r.json()["message"]
    await transition(client, people.bob, part["id"], "approve")
    await transition(client, people.bob, part["id"], "obsolete", "replaced")
    r = await client.post(locks, json={"path": "lfs/op10.nc"}, headers=basic)
    assert r.status_code == 409 and "obsolete" in r.json()["message"]
    await transition(client, people.boss, part["id"], "reinstate")
    assert (await client.post(locks, json={"path": "lfs/op10.nc"}, headers=basic)).status_code == 201
