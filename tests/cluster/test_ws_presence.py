"""Cluster-wide presence with real worker processes: who is online, where, viewing what, and
what happens when a worker dies, freezes, or loses its database connection."""

from __future__ import annotations

import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import MakeUser, StartWorkers, sql
from tests.realtime import Message, bearer, joined, online_names, token_for
from tests.vault import upload_one

WITHIN = 1.0
# Test servers sweep every second (default 5) so the bounds below stay short.
SWEEP = 1.0
STALE = 3.0


def viewing_of(message: Message, username: str) -> list[int]:
    [entry] = [u for u in message["online_users"] if u["username"] == username]
    return list(entry["viewing"])


async def wait_for_rows(db: AsyncSession, user_id: int, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        [(rows,)] = await sql(db, "SELECT count(*) FROM presence WHERE user_id = :u", u=user_id)
        if rows == count:
            return
        assert time.monotonic() < deadline, f"user {user_id} has {rows} presence rows, expected {count}"
        time.sleep(0.05)


async def test_presence_shows_users_of_both_workers(
    start_workers: StartWorkers, make_user: MakeUser, db: AsyncSession
) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    async with joined(a, await token_for(a, "anna")) as anna:
        assert online_names(anna.seen[0]) == {"anna"}
        async with joined(b, await token_for(b, "bob")) as bob:
            assert online_names(bob.seen[0]) == {"anna", "bob"}, "hello lists users of every worker"
            came = await anna.expect("user_connected", timeout=WITHIN, user="bob")
            assert online_names(came) == {"anna", "bob"}
            assert [u["connections"] for u in came["online_users"]] == [1, 1]
        left = await anna.expect("user_disconnected", timeout=WITHIN, user="bob")
        assert online_names(left) == {"anna"} and left["reason"] == "closed"
    # Connecting and disconnecting change nothing in the vault: no audit rows beyond the logins.
    actions = {r[0] for r in await sql(db, "SELECT action FROM audit_events")}
    assert actions == {"user.created", "auth.login"}


async def test_two_tabs_on_two_workers_are_one_user_until_both_close(
    start_workers: StartWorkers, make_user: MakeUser, db: AsyncSession
) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    carl = await make_user("carl", Role.user)
    async with (
        joined(a, await token_for(a, "anna")) as anna,
        httpx.AsyncClient(base_url=a.url, timeout=30) as http,
    ):
        carl_token = await token_for(a, "carl")
        async with joined(a, carl_token) as tab1:
            await anna.expect("user_connected", timeout=WITHIN, user="carl")
            async with joined(b, carl_token) as tab2:
                assert [u["connections"] for u in tab2.seen[0]["online_users"] if u["username"] == "carl"] == [2]
                await wait_for_rows(db, carl.id, 2)
            await wait_for_rows(db, carl.id, 1)
            # Anything committed after that leave reaches anna after whatever the leave announced.
            await upload_one(http, bearer(carl_token), "marker.nc", b"G0\n")
            await anna.expect("file_uploaded", timeout=WITHIN, path="marker.nc")
            assert not [m for m in anna.seen if m["type"] == "user_disconnected"], "one tab is still open"
            carl_came = [m for m in anna.seen if m["type"] == "user_connected" and m["user"] == "carl"]
            assert len(carl_came) == 1, "two tabs, one arrival"
            await tab1.send({"type": "ping"})
            await tab1.expect("pong")
        left = await anna.expect("user_disconnected", timeout=WITHIN, user="carl")
        assert online_names(left) == {"anna"}


async def test_everyone_sees_who_is_viewing_which_file(start_workers: StartWorkers, make_user: MakeUser) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    anna_token, bob_token = await token_for(a, "anna"), await token_for(b, "bob")
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        one = (await upload_one(http, bearer(anna_token), "one.nc", b"1\n"))["id"]
        two = (await upload_one(http, bearer(anna_token), "two.nc", b"2\n"))["id"]
    async with joined(b, bob_token) as bob, joined(a, anna_token) as tab1:
        await tab1.send({"type": "viewing", "file_id": one})
        seen = await bob.expect("viewing", timeout=WITHIN, user="anna")
        assert seen["viewing"] == [one] and seen["user_id"] == tab1.seen[0]["you"]["user_id"]
        async with joined(b, anna_token) as tab2:
            assert viewing_of(tab2.seen[0], "anna") == [one], "hello carries each user's open files"
            await tab2.send({"type": "viewing", "file_id": two})
            assert (await bob.expect("viewing", timeout=WITHIN, user="anna"))["viewing"] == [one, two]
        # Closing the tab that had `two` open leaves only `one`.
        assert (await bob.expect("viewing", timeout=WITHIN, user="anna"))["viewing"] == [one]
        await tab1.send({"type": "viewing", "file_id": None})
        assert (await bob.expect("viewing", timeout=WITHIN, user="anna"))["viewing"] == []
        async with joined(a, bob_token) as late:
            assert viewing_of(late.seen[0], "anna") == []


async def test_users_of_a_killed_worker_leave_the_list_within_the_bound(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    a, b = start_workers(2, ws_presence_sweep_seconds=SWEEP, ws_presence_stale_seconds=STALE)
    await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    await make_user("carl", Role.user)
    async with (
        joined(a, await token_for(a, "anna")) as anna,
        joined(b, await token_for(b, "bob")),
        joined(b, await token_for(b, "carl")),
    ):
        await anna.expect("user_connected", timeout=WITHIN, user="bob")
        await anna.expect("user_connected", timeout=WITHIN, user="carl")
        b.kill()
        # The stated bound (docs/realtime.md): one sweep interval plus one second.
        deadline = time.monotonic() + SWEEP + 1.0
        gone = [await anna.expect("user_disconnected", timeout=deadline - time.monotonic()) for _ in range(2)]
        assert {m["user"] for m in gone} == {"bob", "carl"}
        assert all(m["reason"] == "lost" for m in gone)
        assert online_names(gone[-1]) == {"anna"}


async def test_users_of_a_frozen_worker_leave_when_its_heartbeat_is_stale_and_return_when_it_wakes(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    # SIGSTOP keeps the process, its sockets and its database session: only the heartbeat tells.
    a, b = start_workers(2, ws_presence_sweep_seconds=SWEEP, ws_presence_stale_seconds=STALE)
    await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    async with joined(a, await token_for(a, "anna")) as anna, joined(b, await token_for(b, "bob")) as bob:
        await anna.expect("user_connected", timeout=WITHIN, user="bob")
        b.pause()
        try:
            gone = await anna.expect("user_disconnected", timeout=STALE + SWEEP + 1.0, user="bob")
            assert online_names(gone) == {"anna"}
        finally:
            b.resume()
        # Awake again, the worker finds its rows swept and puts them back.
        back = await anna.expect("user_connected", timeout=SWEEP + 1.0, user="bob")
        assert online_names(back) == {"anna", "bob"}
        await bob.send({"type": "ping", "id": "awake"})
        await bob.expect("pong", id="awake")


async def test_events_and_presence_recover_after_the_database_drops_every_connection(
    start_workers: StartWorkers, make_user: MakeUser, db: AsyncSession
) -> None:
    a, b = start_workers(2)
    anna_user = await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    bob = await token_for(b, "bob")
    async with joined(a, await token_for(a, "anna")) as anna, httpx.AsyncClient(base_url=b.url, timeout=30) as http:
        part = await upload_one(http, bearer(bob), "op40.nc", b"G0\n")
        await anna.expect("file_uploaded", timeout=WITHIN, file_id=part["id"])
        listener = f"camvault-events:{a.pid}"
        [(old_pid,)] = await sql(db, "SELECT pid FROM pg_stat_activity WHERE application_name = :n", n=listener)

        # What a database restart does to the workers: every session of the database ends.
        await sql(
            db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )

        resync = await anna.expect("resync", timeout=10)
        assert "anna" in online_names(resync), "the worker re-registered its sockets"
        deadline = time.monotonic() + 10
        while True:
            rows = await sql(
                db,
                "SELECT p.backend_pid, a.pid FROM presence p "
                "LEFT JOIN pg_stat_activity a ON a.application_name = :n WHERE p.user_id = :u",
                n=listener,
                u=anna_user.id,
            )
            if rows and rows[0][0] == rows[0][1]:
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
        assert rows[0][0] != old_pid, "presence now names the new listener session"

        r = await http.post(f"/api/files/{part['id']}/checkout", json={"message": "after"}, headers=bearer(bob))
        assert r.status_code == 200, r.text
        await anna.expect("file_locked", timeout=WITHIN, file_id=part["id"], message="after")
