"""Fetching streams: a 1 GiB clone leaves the server's memory flat, and a dropped fetch stops its git process.

The vault is seeded straight into the server's repository as one pack (incompressible random files, one commit:
tests/interop/seed_pack.py), which is quick. The catalog's `vault_refs` row names the commit before the branch
does: the sweep moves `main` back to the catalog's commit (app/vault/refs.py), so a branch ahead of it would
vanish.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import psutil
import pytest

from app.core.config import Settings
from tests.conftest import PASSWORD
from tests.db import to_asyncpg_dsn
from tests.interop.conftest import GitAs
from tests.interop.seed_pack import write_seed_commit
from tests.live_server import LiveServer

MIB = 1024**2
SEED_REF = "refs/seed/main"
ALLOWED_GROWTH = 100 * MIB


@pytest.fixture
def seeded(server: LiveServer, settings: Settings, database_url: str) -> Iterator[Callable[..., str]]:
    """`seeded(files=, size=)` fills the server's repository; the packs are deleted afterwards, since
    pytest keeps the temp folders of the last runs."""
    repo = settings.data_dir / "vault.git"
    packs = repo / "objects" / "pack"
    before = set(packs.iterdir())

    def seed(files: int, size: int) -> str:
        head = write_seed_commit(repo, files=files, size=size, folder="big")
        # Reachable from a side ref until main names it, as any object a prune might look at should be.
        subprocess.run(["git", "--git-dir", str(repo), "update-ref", SEED_REF, head], check=True)
        with ThreadPoolExecutor(1) as pool:  # the test's own event loop is not running in a plain test
            pool.submit(asyncio.run, commit_in_catalog(database_url, head)).result()
        subprocess.run(["git", "--git-dir", str(repo), "update-ref", "refs/heads/main", head], check=True)
        subprocess.run(["git", "--git-dir", str(repo), "update-ref", "-d", SEED_REF], check=True)
        return head

    yield seed
    for path in set(packs.iterdir()) - before:
        path.unlink()


async def commit_in_catalog(database_url: str, head: str) -> None:
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        done = await conn.execute("UPDATE vault_refs SET commit_sha = $1 WHERE name = 'refs/heads/main'", head)
    finally:
        await conn.close()
    assert done == "UPDATE 1", done


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def git_processes(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if p.name() == "git"]


def alive(process: psutil.Process) -> bool:
    # A killed child of an orphan lingers as a zombie where PID 1 does not reap (containers): that is gone.
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pkt(line: str) -> bytes:
    return f"{len(line) + 4:04x}{line}".encode()


def test_a_fetch_the_client_drops_stops_its_git_processes(server: LiveServer, seeded: Callable[..., str]) -> None:
    head = seeded(files=16, size=8 * MIB)
    # A fetch of everything, over a socket with a small receive buffer that reads one chunk and then
    # stops: the server is held up by backpressure, with git still running, until the client hangs up.
    body = pkt(f"want {head} no-progress\n") + b"0000" + pkt("done\n")
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    request = (
        "POST /git/vault.git/git-upload-pack HTTP/1.1\r\nHost: camvault\r\n"
        f"Authorization: Basic {credentials}\r\nContent-Type: application/x-git-upload-pack-request\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(request.encode() + body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
        time.sleep(1)  # not a timing assert: only gives git time to fill the pipes and block
        running = git_processes(server.pid)
        assert len(running) == 2, "upload-pack and its pack-objects, stalled: 128 MiB cannot have gone out yet"
    deadline = time.monotonic() + 15
    while any(alive(p) for p in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in running if alive(p)]


@pytest.mark.slow
def test_cloning_a_1_gib_vault_keeps_server_memory_flat(
    server: LiveServer, seeded: Callable[..., str], git_as: GitAs
) -> None:
    seeded(files=64, size=16 * MIB)
    alice = git_as("alice")
    # Warm up every code path once (imports, pools, the first subprocess), so they count in the baseline.
    alice.run("ls-remote", alice.remote)
    baseline = peak_rss(server.pid)
    # The client keeps the pack as it arrives (index-pack) instead of unpacking its 67 objects into 1 GiB of loose
    # ones, zlib-deflated one by one (under the default unpack limit of 100): the server does the same either way,
    # and the clone takes 18 s instead of 51.
    alice.run("-c", "transfer.unpackLimit=1", "clone", "--bare", alice.remote, "vault.git", timeout=900)
    growth = peak_rss(server.pid) - baseline
    count = alice.run("rev-list", "--objects", "--all", cwd=alice.home / "vault.git").stdout.count("\n")
    assert count == 64 + 2 + 1  # the blobs, the root and big/ trees, the commit
    # KiB of loose objects plus packs, whichever the client kept.
    counts = dict(
        line.split(": ") for line in alice.run("count-objects", "-v", cwd=alice.home / "vault.git").stdout.splitlines()
    )
    assert (int(counts["size"]) + int(counts["size-pack"])) * 1024 >= 1024 * MIB
    shutil.rmtree(alice.home / "vault.git")
    print(f"server peak RSS grew by {growth / MIB:.1f} MiB for a 1 GiB clone")
    assert growth < ALLOWED_GROWTH, f"peak RSS grew by {growth / MIB:.1f} MiB"
