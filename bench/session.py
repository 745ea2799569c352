"""What every benchmark gets: the server's client, the capture app, a bare asyncpg connection, the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.capture import RecordingClient
from bench.stack import Server


@dataclass(frozen=True)
class Config:
    quick: bool
    scales: tuple[int, ...]  # catalog sizes the listing is measured at (benchmark 5)
    history_versions: int  # versions of the history file (benchmark 5)
    rounds: int  # timed rounds per latency benchmark
    warmup: int  # rounds run first and thrown away
    racers: int  # concurrent check-outs of one file per race round (benchmark 1)
    race_rounds: int
    lock_clients: int  # concurrent check-out + check-in clients (benchmark 2)
    lock_seconds: float  # how long each side of benchmark 2 runs
    upload_bytes: int  # size of the large file (benchmarks 3 and 4)
    transfers: int  # timed uploads and downloads of it
    ws_clients: int  # WebSockets listening (benchmark 6)
    ws_rounds: int  # check-outs whose events they wait for
    search: str  # the listing benchmark's `q=`
    nc_bytes: int  # size of the NC program (benchmark 7)
    nc_runs: int  # its facts, uploads and browser opens
    bulk_files: int  # files in one upload request (benchmark 8)
    bulk_rounds: int  # timed many-file uploads
    only: frozenset[
        str
    ]  # run only these benchmarks (listing, history, race, locks, designs, transfer, fanout, nc, whole); empty: all
    tmp: Path  # this run's scratch folder, removed at the end
    results: Path

    def wants(self, benchmark: str) -> bool:
        return not self.only or benchmark in self.only


@dataclass(frozen=True)
class Bench:
    config: Config
    server: Server  # Gunicorn and its workers
    http: httpx.AsyncClient  # the server, over TCP, one request at a time
    headers: dict[str, str]  # the bench user's bearer token
    tokens: dict[str, tuple[int, str]]  # every user's id and bearer token, by username
    capture: RecordingClient  # camvault in this process, recording its SQL
    conn: asyncpg.Connection  # the floor: bare asyncpg, no SQLAlchemy, no HTTP
    dsn: str  # for benchmarks that need a pool of bare connections

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username][1]}"}
