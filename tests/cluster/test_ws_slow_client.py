"""A client that stops reading is cut off; the others never wait for it."""

from __future__ import annotations

import json
import socket

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Role
from tests.conftest import MakeUser, StartWorkers
from tests.realtime import bearer, joined, token_for, ws_connect
from tests.vault import upload_one

WITHIN = 1.0
QUEUE = 32
# NOTIFY payloads are at most 8000 bytes; these are as big as a long path makes a real event.
PADDING_PATH = "load/" + "p" * 7400


def nonreading_socket(port: int) -> socket.socket:
    # A fixed, tiny receive buffer: otherwise Linux grows it to tens of MB and the kernel, not
    # the client, would be doing the "reading" for a long time.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


async def test_a_client_that_stops_reading_is_closed_and_never_delays_the_others(
    start_workers: StartWorkers, make_user: MakeUser, db: AsyncSession
) -> None:
    a, b = start_workers(2, ws_send_queue_size=QUEUE)
    for name in ("reader", "sleeper", "bob"):
        await make_user(name, Role.user)
    bob = await token_for(b, "bob")
    seq = 0

    async def traffic(count: int) -> None:
        """Background load: events on the real channel, as the services publish them.

        Before a socket's own queue can fill, the kernel buffers about 3 MB for a client that
        does not read; as real uploads that would be thousands of commits, so most of the bytes
        come from these (unique: PostgreSQL folds equal payloads within one transaction).
        """
        nonlocal seq
        for _ in range(count):
            seq += 1
            event = {
                "type": "file_uploaded",
                "at": "2026-01-01T00:00:00+00:00",
                "file_id": -seq,
                "path": PADDING_PATH,
                "user": "load",
                "version": 1,
                "size": 0,
                "new_file": True,
            }
            await db.execute(text("SELECT pg_notify('camvault_events', :p)"), {"p": json.dumps(event)})
        await db.commit()

    async with (
        joined(a, await token_for(a, "reader")) as reader,
        # compression off: the padding would otherwise shrink to nothing on the wire.
        ws_connect(
            a, await token_for(a, "sleeper"), sock=nonreading_socket(a.port), compression=None, max_queue=4
        ) as sleeper,
        httpx.AsyncClient(base_url=b.url, timeout=30) as via_b,
    ):
        await reader.expect("user_connected", timeout=WITHIN, user="sleeper")
        part = await upload_one(via_b, bearer(bob), "cells/op50.nc", b"G0\n")
        rounds = 0
        while not any(m["type"] == "user_disconnected" and m["user"] == "sleeper" for m in reader.seen):
            rounds += 1
            assert rounds <= 100, "the sleeping client was never cut off"
            await traffic(20)
            # Real changes through worker B: the reader on A gets each within the deadline,
            # whatever state the sleeper's queue is in.
            r = await via_b.post(
                f"/api/files/{part['id']}/checkout", json={"message": f"round {rounds}"}, headers=bearer(bob)
            )
            assert r.status_code == 200, r.text
            await reader.expect("file_locked", timeout=WITHIN, message=f"round {rounds}")
            assert (await via_b.post(f"/api/files/{part['id']}/release", headers=bearer(bob))).is_success
            await reader.expect("file_unlocked", timeout=WITHIN, file_id=part["id"])

        left = [m for m in reader.seen if m["type"] == "user_disconnected"]
        assert [m["user"] for m in left] == ["sleeper"] and left[0]["online_users"][0]["username"] == "reader"
        # The reader got everything, the sleeper's traffic included.
        assert sum(1 for m in reader.seen if m["type"] == "file_uploaded" and m["user"] == "load") == seq

        # After the cut the reader still gets changes at once.
        assert (
            await via_b.post(f"/api/files/{part['id']}/checkout", json={"message": "after"}, headers=bearer(bob))
        ).is_success
        await reader.expect("file_locked", timeout=WITHIN, message="after")

        # The sleeper, reading at last, finds what was in flight and then the close code.
        code, reason = await sleeper.closed(timeout=30)
        assert (code, reason) == (4001, "too slow: reconnect and reload")
        assert len(sleeper.seen) < len(reader.seen), "the sleeper was cut off before the end"
    assert "socket too slow, closing user=sleeper" in a.log()
