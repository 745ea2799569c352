"""Benchmark 6, WebSocket fan-out: many sockets spread over both Gunicorn workers, one check-out, how long until
each socket hears of it.

Clients connect straight to Gunicorn (no nginx), with the racers' tokens (several sockets per user, like
tabs). Which worker holds each socket is read from the workers' own TCP connections, and both must hold
some. A round checks the file out over HTTP and waits until every socket has its `file_locked` event; the
latency of a socket is the event's arrival minus the moment the check-out's HTTP response arrived (it can be
negative: the event goes out at commit, the response a little after). Then the file is released.

Floor: PostgreSQL's own notification path, which carries the event between workers: one bare asyncpg
connection LISTENing, another sending a `pg_notify` of the same size; the time from sending the NOTIFY to
its arrival. The ratio compares it with camvault's time from sending the check-out to the event.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg
from websockets.asyncio.client import ClientConnection, connect

from bench.measure import speed_ratio, summary
from bench.race import upload_files
from bench.session import Bench
from bench.stack import RACER

CONNECT_BATCH = 50
QUIET_SECONDS = 1.0  # no message for this long: the presence messages of the connects are over


class Listener:
    """One socket: records when each round's `file_locked` for the target file arrived."""

    def __init__(self, ws: ClientConnection, file_id: int) -> None:
        self.ws = ws
        self.file_id = file_id
        self.locked: list[float] = []  # arrival per round
        self.unlocked = 0
        self.last_message = time.perf_counter()

    async def read(self) -> None:
        async for text in self.ws:
            now = time.perf_counter()
            self.last_message = now
            message = json.loads(text)
            if message.get("file_id") != self.file_id:
                continue
            if message["type"] == "file_locked":
                self.locked.append(now)
            elif message["type"] == "file_unlocked":
                self.unlocked += 1


async def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"fan-out: timed out waiting for {what}")
        await asyncio.sleep(0.005)


def sockets_per_worker(bench: Bench) -> list[int]:
    """Established connections to the server's port, per worker process (WebSockets plus a few HTTP)."""
    counts = []
    for worker in bench.server.workers():
        counts.append(
            sum(
                1
                for c in worker.net_connections(kind="tcp")
                if c.status == "ESTABLISHED" and c.laddr and c.laddr.port == bench.server.port
            )
        )
    return counts


async def run(bench: Bench) -> dict[str, dict[str, Any]]:
    (file_id,) = await upload_files(bench, ["fanout.nc"], "bench")
    ws_url = bench.server.url.replace("http://", "ws://") + "/ws"
    n = bench.config.ws_clients
    users = [RACER.format(i % bench.config.racers) for i in range(n)]
    before = sockets_per_worker(bench)
    listeners: list[Listener] = []
    readers: list[asyncio.Task[None]] = []

    async def open_one(user: str) -> None:
        ws = await connect(f"{ws_url}?token={bench.tokens[user][1]}", open_timeout=60, max_queue=None)
        listener = Listener(ws, file_id)
        hello = json.loads(await ws.recv())
        if hello["type"] != "hello":
            raise RuntimeError(f"fan-out: expected hello, got {hello['type']}")
        listeners.append(listener)
        readers.append(asyncio.create_task(listener.read()))

    try:
        for start in range(0, n, CONNECT_BATCH):
            await asyncio.gather(*(open_one(u) for u in users[start : start + CONNECT_BATCH]))
        await wait_until(
            lambda: time.perf_counter() - max(x.last_message for x in listeners) > QUIET_SECONDS, 120, "quiet"
        )
        per_worker = [after - was for after, was in zip(sockets_per_worker(bench), before, strict=True)]
        for _ in range(10):
            if min(per_worker) > 0:
                break
            # The kernel hands each connection to whichever worker accepts first; with few sockets one worker can
            # take them all. Reconnect half of them until both hold some.
            half = len(listeners) // 2 or 1
            for listener, task in zip(listeners[:half], readers[:half], strict=True):
                await listener.ws.close()
                task.cancel()
            del listeners[:half], readers[:half]
            await asyncio.gather(*(open_one(u) for u in users[:half]))
            await asyncio.sleep(0.2)
            per_worker = [after - was for after, was in zip(sockets_per_worker(bench), before, strict=True)]
        if min(per_worker) == 0:
            raise RuntimeError(f"fan-out: sockets per worker {per_worker}: one worker holds none")
        from_response: list[float] = []
        from_request: list[float] = []
        checkout, release = f"/api/files/{file_id}/checkout", f"/api/files/{file_id}/release"
        for r in range(bench.config.ws_rounds):
            sent = time.perf_counter()
            (await bench.http.post(checkout, json={"message": "fan-out"}, headers=bench.headers)).raise_for_status()
            answered = time.perf_counter()
            await wait_until(lambda r=r: all(len(x.locked) > r for x in listeners), 30, "file_locked everywhere")
            from_response += [(x.locked[r] - answered) * 1000 for x in listeners]
            from_request += [(x.locked[r] - sent) * 1000 for x in listeners]
            (await bench.http.post(release, headers=bench.headers)).raise_for_status()
            await wait_until(lambda r=r: all(x.unlocked > r for x in listeners), 30, "file_unlocked everywhere")
    finally:
        for listener in listeners:
            await listener.ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    floor = await notify_floor(bench, bench.config.ws_rounds * 5)
    app, sent_side, bare = summary(from_response), summary(from_request), summary(floor)
    return {
        "ws_fanout": {
            "clients": n,
            "sockets_per_worker": per_worker,
            "rounds": bench.config.ws_rounds,
            "events": len(from_response),
            "p50_ms": app["p50_ms"],
            "p99_ms": app["p99_ms"],
            "from_request_p50_ms": sent_side["p50_ms"],
            "from_request_p99_ms": sent_side["p99_ms"],
            "floor_p50_ms": bare["p50_ms"],
            "floor_p99_ms": bare["p99_ms"],
            # Both from the moment of sending: an event can beat the response, and a negative time has no ratio.
            "ratio": speed_ratio(bare["p50_ms"], sent_side["p50_ms"]),
        }
    }


async def notify_floor(bench: Bench, rounds: int) -> list[float]:
    """Milliseconds from sending a bare `pg_notify` to its arrival on a bare LISTEN connection."""
    listener = await asyncpg.connect(bench.dsn)
    arrived: asyncio.Queue[float] = asyncio.Queue()
    payload = json.dumps({"type": "file_locked", "file_id": 1, "path": "bench/fanout.nc", "pad": "x" * 200})
    try:
        await listener.add_listener("bench_fanout", lambda *_: arrived.put_nowait(time.perf_counter()))
        times = []
        for _ in range(rounds):
            sent = time.perf_counter()
            await bench.conn.execute("SELECT pg_notify('bench_fanout', $1)", payload)
            times.append((await asyncio.wait_for(arrived.get(), 10) - sent) * 1000)
        return times
    finally:
        await listener.close()
