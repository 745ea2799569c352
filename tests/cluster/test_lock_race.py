"""Check-out races between two real worker processes: one statement decides, never two holders, and a loser
never waits for the winner's transaction."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.core.config import Settings
from app.models import Role
from app.repositories.locks import CHECK_OUT_GATE
from app.services.locks import IN_FLIGHT
from tests.conftest import Login, MakeUser, StartWorkers, sql
from tests.db import to_asyncpg_dsn
from tests.live_server import LiveServer
from tests.vault import upload_one

pytestmark = pytest.mark.heavy

RACERS = 50
ROUNDS = 20


async def test_fifty_concurrent_check_outs_across_two_workers_have_one_winner(
    workers: list[LiveServer], make_user: MakeUser, db: object
) -> None:
    a, b = workers
    # Idle connections are dropped by the client after a second, long before Uvicorn's 5 s keep-alive timeout: now
    # that losers answer at once, a connection can sit idle for a round or two, and one closed by the server just as
    # the client reuses it is a ReadError that says nothing about check-outs.
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=RACERS, keepalive_expiry=1.0)
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
            # A loser is told who won, or (when it asked while the winner's transaction was still open) that
            # someone is checking the file out right now: it never waits for that transaction to learn which.
            assert all(d == IN_FLIGHT or d["holder"] == holder for d in losers), losers
            assert await sql(db, "SELECT count(*) FROM locks") == [(1,)]  # type: ignore[arg-type]
            winners.append(holder)
            released = await on_b.post(f"/api/files/{part['id']}/release", headers=tokens[winner])
            assert released.status_code == 200, released.text

    rows = await sql(db, "SELECT actor_name FROM audit_events WHERE action='lock.checkout' ORDER BY id")  # type: ignore[arg-type]
    assert [r[0] for r in rows] == winners


async def _reached(marker: Path) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, f"the check-out never reached {marker.name}"
        await asyncio.sleep(0.05)


async def _open_transactions(conn: asyncpg.Connection) -> list[tuple[int, object]]:
    """Backends sitting in an open transaction that has written to `locks` (pid, transaction start), but this one:
    the paused winner's, whose lock row is written and not committed (other work may be briefly idle in a
    transaction of its own on a busy machine, but not one that wrote a lock row)."""
    rows = await conn.fetch(
        "SELECT DISTINCT a.pid, a.xact_start FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
        "WHERE l.relation = 'locks'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted "
        "AND a.state = 'idle in transaction' AND a.datname = current_database() AND a.pid <> pg_backend_pid() "
        "ORDER BY a.pid"
    )
    return [(r["pid"], r["xact_start"]) for r in rows]


async def _gate_holders(conn: asyncpg.Connection, file_id: int) -> list[int]:
    rows = await conn.fetch(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 "
        "AND objsubid = 2",
        CHECK_OUT_GATE,
        file_id,
    )
    return [r["pid"] for r in rows]


async def test_a_losing_check_out_answers_409_while_the_winners_transaction_is_still_open(
    client: httpx.AsyncClient,
    make_user: MakeUser,
    login: Login,
    start_workers: StartWorkers,
    settings: Settings,
    database_url: str,
) -> None:
    """The winner's check-out stops just before its COMMIT (a test hook in its worker) and stays there; a check-out
    of the same file through another worker meanwhile answers 409 at once, and the winner's transaction is
    provably still open before and after that answer (the same backend, the same transaction, holding the
    file's gate). Before the gate, the loser queued on the file row's lock behind the winner's transaction."""
    await make_user("anna", Role.user)
    await make_user("bruno", Role.user)
    anna, bruno = await login("anna"), await login("bruno")
    part = await upload_one(client, anna, "race/held.nc", b"G0 X0\n")
    checkout = f"/api/files/{part['id']}/checkout"
    [paused] = start_workers(1, test_write_pause="before_commit", secret_key=settings.secret_key)
    [other] = start_workers(1, secret_key=settings.secret_key)
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        async with (
            httpx.AsyncClient(base_url=paused.url, timeout=120) as on_paused,
            httpx.AsyncClient(base_url=other.url, timeout=60) as on_other,
        ):
            winner = asyncio.create_task(on_paused.post(checkout, json={"message": "mine"}, headers=anna))
            # The marker says some write of that worker paused; the winner's is the one that wrote a lock row.
            await _reached(settings.data_dir / "paused-before_commit")
            holding = await _open_transactions(conn)
            deadline = time.monotonic() + 60
            while not holding:
                assert time.monotonic() < deadline, "the winner's check-out never paused before its commit"
                await asyncio.sleep(0.05)
                holding = await _open_transactions(conn)
            assert len(holding) == 1, holding  # the winner's transaction: open, its lock row written, not committed

            lost = await on_other.post(checkout, json={"message": "me too"}, headers=bruno)

            assert lost.status_code == 409, lost.text
            assert lost.json() == {"detail": IN_FLIGHT}
            assert not winner.done()
            assert await _open_transactions(conn) == holding  # the same transaction, still open
            assert await _gate_holders(conn, part["id"]) == [holding[0][0]]  # and it holds the file's gate
            assert await conn.fetchval("SELECT count(*) FROM locks") == 0  # nothing committed yet
            paused.kill()
            with contextlib.suppress(httpx.HTTPError):
                await winner

        # The winner's transaction died with its worker: the file is free, and the loser may try again.
        again = await client.post(checkout, json={"message": "me too"}, headers=bruno)
        assert again.status_code == 200, again.text
        assert again.json()["lock"]["holder"] == "bruno"
    finally:
        await conn.close()
