"""Check-out races between two real worker processes: one statement decides, never two holders."""

from __future__ import annotations

import asyncio

import httpx

from app.models import Role
from tests.conftest import MakeUser, sql
from tests.live_server import LiveServer
from tests.vault import upload_one

RACERS = 50
ROUNDS = 20


async def test_fifty_concurrent_check_outs_across_two_workers_have_one_winner(
    workers: list[LiveServer], make_user: MakeUser, db: object
) -> None:
    a, b = workers
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=RACERS)
    async with (
        httpx.AsyncClient(base_url=a.url, limits=limits, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.url, limits=limits, timeout=30) as on_b,
    ):
        tokens = []
        for i in range(RACERS):
            await make_user(f"racer{i:02d}", Role.user)
            r = await on_a.post("/api/auth/token", json={"login": f"racer{i:02d}", "password": "correct horse battery"})
            tokens.append({"Authorization": f"Bearer {r.json()['access_token']}"})
        part = await upload_one(on_a, tokens[0], "race/op10.nc", b"G0 X0\n")
        url = f"/api/files/{part['id']}/checkout"

        winners = []
        for round_no in range(ROUNDS):
            # Half the racers go through each worker; all start together.
            results = await asyncio.gather(
                *(
                    (on_a if i % 2 else on_b).post(url, json={"message": f"round {round_no}"}, headers=h)
                    for i, h in enumerate(tokens)
                )
            )
            codes = sorted(r.status_code for r in results)
            assert codes == [200] + [409] * (RACERS - 1), codes
            [winner] = [i for i, r in enumerate(results) if r.status_code == 200]
            losers = [r.json()["detail"] for r in results if r.status_code == 409]
            holder = f"racer{winner:02d}"
            assert {d["holder"] for d in losers} == {holder}, "every loser is told who won"
            assert await sql(db, "SELECT count(*) FROM locks") == [(1,)]  # type: ignore[arg-type]
            winners.append(holder)
            released = await on_b.post(f"/api/files/{part['id']}/release", headers=tokens[winner])
            assert released.status_code == 200, released.text

    rows = await sql(db, "SELECT actor_name FROM audit_events WHERE action='lock.checkout' ORDER BY id")  # type: ignore[arg-type]
    assert [r[0] for r in rows] == winners
