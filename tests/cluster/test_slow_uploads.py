"""Slow clients cannot starve the pool: no database connection is held while a request body streams."""

from __future__ import annotations

import asyncio
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, StartWorkers, sql

SLOW_UPLOADS = 80
BOUNDARY = "slowboundary"


async def _open_slow_upload(port: int, headers: dict[str, str], name: str) -> asyncio.StreamWriter:
    """Send the request line, the headers and the first bytes of the body, and keep the rest back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\nG0 X0\n'
    tail = f"\r\n--{BOUNDARY}--\r\n"
    lines = [
        "POST /api/files HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: {headers['Authorization']}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {len(head) + len(tail)}",
        "",
        "",
    ]
    writer.write("\r\n".join(lines).encode() + head.encode())
    await writer.drain()
    writer.transport.set_write_buffer_limits(0)
    writer._camvault_rest = tail.encode()  # type: ignore[attr-defined]
    writer._camvault_reader = reader  # type: ignore[attr-defined]
    return writer


async def test_eighty_slow_uploads_do_not_starve_other_requests(
    make_user: MakeUser, login: Login, start_workers: StartWorkers, settings: Settings, db: AsyncSession
) -> None:
    await make_user("anna", Role.user)
    anna = await login("anna")
    workers = start_workers(2, secret_key=settings.secret_key)
    uploads = [await _open_slow_upload(workers[i % 2].port, anna, f"slow{i:02d}.nc") for i in range(SLOW_UPLOADS)]
    try:
        # Every upload has been authenticated and is now streaming its body (the servers read the first bytes).
        deadline = time.monotonic() + 60
        while True:
            rows = await sql(
                db,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction' AND pid <> pg_backend_pid()",
            )
            if rows[0][0] == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert rows[0][0] == 0, "a connection is held while a body streams"
        # Other clients are served meanwhile, on both workers (a starved pool answered 500 after 30 s).
        async with httpx.AsyncClient(timeout=20) as other:
            answers = await asyncio.gather(
                *(other.get(f"{w.url}/api/files", headers=anna) for w in workers for _ in range(10))
            )
        assert [a.status_code for a in answers] == [200] * 20
    finally:
        for writer in uploads:
            writer.write(writer._camvault_rest)  # type: ignore[attr-defined]
            await writer.drain()
    statuses = []
    for writer in uploads:
        status_line = await asyncio.wait_for(writer._camvault_reader.readline(), 60)  # type: ignore[attr-defined]
        statuses.append(status_line.split()[1])
        writer.close()
    assert statuses == [b"201"] * SLOW_UPLOADS
    assert await sql(db, "SELECT count(*) FROM files") == [(SLOW_UPLOADS,)]
