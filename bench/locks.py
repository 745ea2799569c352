"""A check-out/release cycle through Uvicorn against the bare statements that decide it: the upsert and the delete."""

from __future__ import annotations

from typing import Any

from bench.capture import replay
from bench.listing import latency_result
from bench.measure import compare_latency
from bench.session import Bench


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    # A real file (a Git blob behind it), so the cycle is what a user does to a real file.
    up = await bench.http.post(
        "/api/files",
        files={"files": ("lock-cycle.nc", b"G0 X0 Y0\nM30\n")},
        data={"folder": "bench"},
        headers=bench.headers,
    )
    up.raise_for_status()
    file_id = up.json()["files"][0]["id"]
    checkout, release = f"/api/files/{file_id}/checkout", f"/api/files/{file_id}/release"
    body = {"message": "bench cycle"}

    async with bench.capture.record() as recording:
        (await bench.capture.client.post(checkout, json=body, headers=bench.headers)).raise_for_status()
        (await bench.capture.client.post(release, headers=bench.headers)).raise_for_status()
    # The winning statement (INSERT .. ON CONFLICT DO UPDATE .. WHERE expired RETURNING) and the release.
    acquire = recording.one("INSERT INTO locks", "ON CONFLICT")
    delete = recording.one("DELETE FROM locks")

    async def http() -> None:
        (await bench.http.post(checkout, json=body, headers=bench.headers)).raise_for_status()
        (await bench.http.post(release, headers=bench.headers)).raise_for_status()

    async def sql() -> None:
        # Each in its own implicit transaction (autocommit), as a bare client would send them.
        if await bench.conn.fetchrow(acquire.sql, *acquire.params) is None:
            raise RuntimeError("the bare check-out lost: the lock was held")
        await bench.conn.execute(delete.sql, *delete.params)

    async def request_sql() -> None:
        await replay(bench.conn, recording.steps)

    samples = await compare_latency(
        {"http": http, "sql": sql, "request_sql": request_sql}, rounds=bench.config.rounds, warmup=bench.config.warmup
    )
    return {"lock_cycle": latency_result(samples, statements=len(recording.statements))}
