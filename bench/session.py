"""What every benchmark gets: the live server's client, the capture app, a bare asyncpg connection, the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.capture import RecordingClient


@dataclass(frozen=True)
class Config:
    quick: bool
    files: int  # catalog rows seeded for the listing benchmark
    rounds: int  # timed rounds per latency benchmark
    warmup: int  # rounds run first and thrown away
    upload_bytes: int  # size of the large file
    transfers: int  # timed uploads and downloads of it
    search: str  # the listing benchmark's `q=`
    tmp: Path  # this run's scratch folder, removed at the end
    results: Path


@dataclass(frozen=True)
class Bench:
    config: Config
    http: httpx.AsyncClient  # the real Uvicorn worker, over TCP
    headers: dict[str, str]  # the bench user's bearer token
    capture: RecordingClient  # camvault in this process, recording its SQL
    conn: asyncpg.Connection  # the floor: bare asyncpg, no SQLAlchemy, no HTTP
