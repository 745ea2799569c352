"""Lifecycle races between two real worker processes: each has exactly one outcome.

Approvals at the same moment (RELEASE_APPROVALS=1) give one release and one label; a check-out racing a submit
has one winner. And the shop floor's socket hears of work in progress by name only, never its content.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from app.models import Role
from tests.conftest import MakeUser, StartWorkers, sql
from tests.db import to_asyncpg_dsn
from tests.live_server import LiveServer
from tests.realtime import bearer, joined, token_for
from tests.vault import git, upload_one

APPROVERS = 6
ROUNDS = 10


@asynccontextmanager
async def file_busy(database_url: str, file_id: object, waiters: int) -> AsyncIterator[None]:
    """Hold the file's row, as a long transaction on it would (a check-in writing its version), until the block's
    requests are all waiting on a lock; then let go, so they are released together. Races stop being a matter of
    luck: every request has read nothing yet that the others change."""
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM files WHERE id = $1 FOR UPDATE", file_id)
            yield
            deadline = time.monotonic() + 90  # a safety net only: a loaded machine is slow, never wrong
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            while await conn.fetchval(waiting) < waiters:
                assert time.monotonic() < deadline, "the requests never reached the file"
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def _approvers(a: LiveServer, make_user: MakeUser) -> list[dict[str, str]]:
    await make_user("boss", Role.admin)
    boss = bearer(await token_for(a, "boss"))
    tokens = [boss]
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        for i in range(1, APPROVERS):
            user = await make_user(f"approver{i}", Role.user)
            r = await http.patch(f"/api/admin/users/{user.id}", json={"is_approver": True}, headers=boss)
            assert r.status_code == 200, r.text
            tokens.append(bearer(await token_for(a, f"approver{i}")))
    return tokens


async def test_approvals_at_the_same_moment_release_once_with_one_label(
    start_workers: StartWorkers, make_user: MakeUser, db: object, settings: object, database_url: str
) -> None:
    a, b = start_workers(2, release_approvals=1)
    approvers = await _approvers(a, make_user)
    await make_user("anna", Role.user)
    anna = bearer(await token_for(a, "anna"))
    limits = httpx.Limits(max_connections=APPROVERS)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30, limits=limits) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=30, limits=limits) as on_b,
    ):
        for round_no in range(ROUNDS):
            part = await upload_one(on_a, anna, f"race/op{round_no:02d}.nc", f"G0 X{round_no}\n".encode())
            assert (await on_a.post(f"/api/files/{part['id']}/submit", json={}, headers=anna)).status_code == 200
            # Even rounds: all at once. Odd rounds: all waiting on the busy file, then all at once.
            busy = file_busy(database_url, part["id"], APPROVERS) if round_no % 2 else None
            requests = [
                (on_a if i % 2 else on_b).post(
                    f"/api/files/{part['id']}/approve", json={"comment": f"go {i}"}, headers=h
                )
                for i, h in enumerate(approvers)
            ]
            if busy is None:
                results = await asyncio.gather(*requests)
            else:
                async with busy:
                    pending = asyncio.gather(*requests)
                results = await pending
            codes = sorted(r.status_code for r in results)
            assert codes == [200] + [409] * (APPROVERS - 1), [(r.status_code, r.text) for r in results]
            [winner] = [r.json() for r in results if r.status_code == 200]
            assert winner["released"] == "A" and winner["file"]["state"] == "released"
            losers = {r.json()["detail"] for r in results if r.status_code == 409}
            assert all("not in review" in d for d in losers), losers

    assert await sql(db, "SELECT count(*), count(DISTINCT file_id) FROM file_revisions") == [(ROUNDS, ROUNDS)]  # type: ignore[arg-type]
    assert await sql(db, "SELECT DISTINCT label FROM file_revisions") == [("A",)]  # type: ignore[arg-type]
    assert await sql(db, "SELECT count(*) FROM review_approvals") == [(ROUNDS,)]  # type: ignore[arg-type]
    assert await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'lifecycle.released'") == [(ROUNDS,)]  # type: ignore[arg-type]
    repo = settings.data_dir / "vault.git"  # type: ignore[attr-defined]
    # One commit on the released branch per release, each file once in its tree.
    assert git(repo, "rev-list", "--count", "released").strip() == str(ROUNDS)
    assert len(git(repo, "ls-tree", "-r", "--name-only", "released").split()) == ROUNDS


async def test_a_check_out_racing_a_submit_has_one_winner(
    start_workers: StartWorkers, make_user: MakeUser, db: object, database_url: str
) -> None:
    a, b = start_workers(2, edit_cooldown_seconds=0)
    await make_user("anna", Role.user)
    await make_user("ben", Role.user)
    await make_user("boss", Role.admin)
    anna, ben, boss = [bearer(await token_for(a, name)) for name in ("anna", "ben", "boss")]
    outcomes: Counter[str] = Counter()
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
    ):
        part = await upload_one(on_a, anna, "race/checkout.nc", b"G0\n")
        url = f"/api/files/{part['id']}"
        for round_no in range(ROUNDS * 2):
            requests = (
                on_a.post(f"{url}/submit", json={"comment": "ready"}, headers=anna),
                on_b.post(f"{url}/checkout", json={"message": "one more change"}, headers=ben),
            )
            if round_no % 2:  # both waiting on the busy file, then at once
                async with file_busy(database_url, part["id"], 2):
                    pending = asyncio.gather(*requests)
                submit, checkout = await pending
            else:
                submit, checkout = await asyncio.gather(*requests)
            assert sorted((submit.status_code, checkout.status_code)) == [200, 409], (submit.text, checkout.text)
            meta = (await on_a.get(url, headers=anna)).json()
            if submit.status_code == 200:
                outcomes["submit"] += 1
                assert meta["state"] == "in_review" and meta["lock"] is None
                assert "in review" in checkout.json()["detail"]
                reject = await on_b.post(f"{url}/reject", json={"comment": "again"}, headers=boss)
                assert reject.status_code == 200, reject.text
            else:
                outcomes["checkout"] += 1
                assert meta["state"] == "wip" and meta["lock"]["holder"] == "ben" and meta["review"] is None
                assert submit.json()["detail"]["holder"] == "ben"
                assert (await on_a.post(f"{url}/release", headers=ben)).status_code == 200
    assert sum(outcomes.values()) == ROUNDS * 2
    submitted = await sql(db, "SELECT count(*) FROM reviews")  # type: ignore[arg-type]
    assert submitted == [(outcomes["submit"],)]
    assert await sql(db, "SELECT count(*) FROM lock_history") == [(outcomes["checkout"],)]  # type: ignore[arg-type]


async def test_the_floors_socket_hears_names_of_work_in_progress_never_its_content(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    await make_user("boss", Role.admin)
    await make_user("olaf", Role.viewer)
    anna, boss = bearer(await token_for(a, "anna")), bearer(await token_for(a, "boss"))
    secret = b"(WIP-ONLY) G1 X999 F9999\n"
    async with joined(b, await token_for(b, "olaf")) as olaf, httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        part = await upload_one(http, anna, "floor/op10.nc", secret)
        await olaf.expect("file_uploaded", file_id=part["id"], path="floor/op10.nc")
        assert (await http.post(f"/api/files/{part['id']}/submit", json={}, headers=anna)).status_code == 200
        await olaf.expect("file_submitted", file_id=part["id"], version=1)
        r = await http.post(f"/api/files/{part['id']}/reject", json={"comment": "F9999 is too fast"}, headers=boss)
        assert r.status_code == 200
        rejected = await olaf.expect("file_rejected", file_id=part["id"])
        assert "comment" not in rejected  # comments stay in the audit log
        raw = json.dumps(olaf.seen)
        assert "X999" not in raw and "F9999" not in raw
