"""Events over /ws between two real worker processes: every mutation reaches every socket."""

from __future__ import annotations

import time
from datetime import datetime

import httpx

from app.models import Role
from tests.conftest import MakeUser, StartWorkers
from tests.realtime import Message, WsClient, bearer, joined, token_for
from tests.vault import check_in, upload_one

# The deadline: an event reaches clients within one second of the change.
WITHIN = 1.0


async def everyone_sees(clients: list[WsClient], kind: str, **fields: object) -> list[Message]:
    return [await c.expect(kind, timeout=WITHIN, **fields) for c in clients]


async def test_check_out_through_worker_b_reaches_a_client_on_worker_a_within_one_second(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    anna, bob = await token_for(a, "anna"), await token_for(b, "bob")
    async with (
        joined(a, anna) as on_a,
        joined(b, bob) as on_b,
        httpx.AsyncClient(base_url=a.url, timeout=30) as via_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as via_b,
    ):
        part = await upload_one(via_b, bearer(bob), "fixtures/op10.nc", b"G0 X0\n")

        r = await via_b.post(f"/api/files/{part['id']}/checkout", json={"message": "new fixture"}, headers=bearer(bob))
        assert r.status_code == 200, r.text
        locked = await on_a.expect("file_locked", timeout=WITHIN, file_id=part["id"])
        assert locked["user"] == "bob" and locked["message"] == "new fixture"
        assert locked["path"] == "fixtures/op10.nc" and locked["version"] == 1
        for stamp in (locked["at"], locked["since"], locked["until"]):
            assert "T" in stamp and datetime.fromisoformat(stamp).tzinfo is not None

        # And the other way round: a change through A reaches a client on B.
        r = await via_a.post(f"/api/files/{part['id']}/release", headers=bearer(bob))
        assert r.status_code == 200, r.text
        await on_b.expect("file_unlocked", timeout=WITHIN, file_id=part["id"], reason="released")


async def test_every_event_type_reaches_clients_on_both_workers(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    a, b = start_workers(2)
    await make_user("anna", Role.user)
    await make_user("bob", Role.user)
    await make_user("boss", Role.admin)
    bob, boss = bearer(await token_for(b, "bob")), bearer(await token_for(a, "boss"))
    async with (
        joined(a, await token_for(a, "anna")) as on_a,
        joined(b, await token_for(b, "anna")) as on_b,
        httpx.AsyncClient(base_url=a.url, timeout=30) as via_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as via_b,
    ):
        clients = [on_a, on_b]
        part = await upload_one(via_b, bob, "cells/op20.nc", b"G0 X1\n")
        fid = part["id"]
        for m in await everyone_sees(clients, "file_uploaded", file_id=fid):
            assert m["new_file"] is True and m["version"] == 1 and m["user"] == "bob" and m["size"] == 6

        assert (await via_b.post(f"/api/files/{fid}/checkout", json={"message": "edit"}, headers=bob)).is_success
        await everyone_sees(clients, "file_locked", file_id=fid, user="bob", message="edit")

        assert (await via_a.post(f"/api/files/{fid}/renew", headers=bob)).is_success
        await everyone_sees(clients, "file_locked", file_id=fid, user="bob", renewed=True)

        r = await check_in(via_b, bob, fid, b"G0 X2\n", message="new offsets")
        assert r.status_code == 200, r.text
        await everyone_sees(clients, "file_uploaded", file_id=fid, version=2, new_file=False, user="bob")
        await everyone_sees(clients, "file_unlocked", file_id=fid, reason="checkin", version=2, user="bob")

        assert (await via_b.post(f"/api/files/{fid}/checkout", json={"message": "x"}, headers=bob)).is_success
        assert (await via_b.post(f"/api/files/{fid}/release", headers=bob)).is_success
        await everyone_sees(clients, "file_unlocked", file_id=fid, reason="released", user="bob")

        assert (await via_b.post(f"/api/files/{fid}/checkout", json={"message": "x"}, headers=bob)).is_success
        assert (await via_a.post(f"/api/files/{fid}/force-release", headers=boss)).is_success
        await everyone_sees(clients, "file_unlocked", file_id=fid, reason="force_released", user="bob", by="boss")

        assert (await via_a.delete(f"/api/files/{fid}", headers=boss)).is_success
        await everyone_sees(clients, "file_deleted", file_id=fid, user="boss", path="cells/op20.nc")

        assert (await via_b.post(f"/api/files/{fid}/restore", headers=boss)).is_success
        await everyone_sees(clients, "file_restored", file_id=fid, user="boss", version=2)

        # Renames and moves, of a file and of its folder (one file_moved per file, then the folder's event).
        r = await via_a.post(f"/api/files/{fid}/move", json={"path": "cells/op21.nc"}, headers=bob)
        assert r.status_code == 200, r.text
        await everyone_sees(clients, "file_moved", file_id=fid, path="cells/op21.nc", old_path="cells/op20.nc")
        assert (await via_b.post("/api/folders", json={"path": "cells/empty"}, headers=bob)).status_code == 201
        await everyone_sees(clients, "folder_created", path="cells/empty", user="bob")
        r = await via_a.post("/api/folders/move", json={"path": "cells", "to": "cells-2026"}, headers=bob)
        assert r.status_code == 200, r.text
        await everyone_sees(clients, "file_moved", file_id=fid, path="cells-2026/op21.nc", folder="cells")
        await everyone_sees(clients, "folder_moved", path="cells-2026", old_path="cells", files=1, user="bob")
        assert (await via_b.delete("/api/folders", params={"path": "cells-2026/empty"}, headers=bob)).is_success
        await everyone_sees(clients, "folder_deleted", path="cells-2026/empty", user="bob")

        for client in clients:
            assert all("at" in m and "type" in m for m in client.seen)


async def test_an_expired_lock_is_announced(start_workers: StartWorkers, make_user: MakeUser) -> None:
    ttl, sweep = 1, 0.2
    a, b = start_workers(2, lock_ttl_seconds=ttl, lock_sweep_seconds=sweep)
    await make_user("bob", Role.user)
    bob = await token_for(b, "bob")
    async with joined(a, bob) as on_a, httpx.AsyncClient(base_url=b.url, timeout=30) as via_b:
        part = await upload_one(via_b, bearer(bob), "op30.nc", b"G0\n")
        assert (await via_b.post(f"/api/files/{part['id']}/checkout", json={}, headers=bearer(bob))).is_success
        # Expiry is the lock's TTL, then at most one sweep.
        expired = await on_a.expect("lock_expired", timeout=ttl + sweep + WITHIN, file_id=part["id"])
        assert expired["user"] == "bob" and expired["version"] == 1


async def test_ping_gets_pong_echoing_the_client_id(start_workers: StartWorkers, make_user: MakeUser) -> None:
    [a] = start_workers(1)
    await make_user("anna", Role.user)
    async with joined(a, await token_for(a, "anna")) as client:
        for client_id in ("abc", 42, None):
            await client.send({"type": "ping"} if client_id is None else {"type": "ping", "id": client_id})
            pong = await client.expect("pong", timeout=WITHIN)
            assert pong["id"] == client_id
            assert datetime.fromisoformat(pong["at"]).tzinfo is not None


async def test_bad_client_messages_get_an_error_and_the_socket_keeps_working(
    start_workers: StartWorkers, make_user: MakeUser
) -> None:
    [a] = start_workers(1)
    await make_user("anna", Role.user)
    bad: list[tuple[str | bytes | dict[str, object], str]] = [
        ("this is not json", "bad_json"),
        (b"\x00\x01binary", "bad_frame"),
        ("[1, 2]", "bad_message"),
        ({"id": 3}, "bad_message"),
        ({"type": 7}, "bad_message"),
        ({"type": "shout", "id": "q1"}, "unknown_type"),
        ({"type": "viewing", "file_id": "7"}, "bad_field"),
        ({"type": "viewing", "file_id": True}, "bad_field"),
        ({"type": "viewing", "file_id": 1.5}, "bad_field"),
        ({"type": "viewing", "file_id": -1}, "bad_field"),
        ({"type": "viewing"}, "bad_field"),
        ({"type": "ping", "id": {"nested": 1}}, "bad_field"),
        ({"type": "ping", "id": "x" * 5000}, "too_large"),
        ({"type": "viewing", "file_id": 999_999, "id": "v1"}, "not_found"),
    ]
    async with joined(a, await token_for(a, "anna")) as client:
        for message, code in bad:
            await client.send(message)
            error = await client.expect("error", timeout=WITHIN)
            assert error["code"] == code, (message, error)
            assert error["message"]
        assert client.seen[-1]["id"] == "v1", "a usable client id is echoed with the error"
        assert next(m for m in client.seen if m["type"] == "error" and m["code"] == "unknown_type")["id"] == "q1"
        await client.send({"type": "ping", "id": "after"})
        await client.expect("pong", timeout=WITHIN, id="after")
    deadline = time.monotonic() + 10
    while "socket closed user=anna" not in a.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = a.log()
    assert "socket closed user=anna" in log
    assert "Traceback" not in log and "Exception in ASGI application" not in log
