"""Git's smart HTTP protocol, read-only: `git upload-pack --stateless-rpc` as a subprocess, streamed both ways.

This is the server half of what `git clone/fetch` speak over HTTP (gitprotocol-http(5)); it runs Git, so it
lives beside GitStore. Nothing here holds a pack in memory: the request body goes to upload-pack's stdin as it
arrives and its stdout goes to the client as it is produced, in pipe-sized chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from pathlib import Path

import anyio

from app.storage.runner import GitRunner

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024


def pkt_line(text: str) -> bytes:
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


FLUSH = b"0000"


class UploadPack:
    """Serves some of one repository's committed branches to fetching clients."""

    def __init__(self, runner: GitRunner, repo_path: Path, branch_refs: Sequence[str], *, with_head: bool) -> None:
        self.runner = runner
        self.repo_path = repo_path
        self.branch_refs = tuple(branch_refs)
        self.with_head = with_head

    def _arguments(self, *args: str) -> list[str]:
        # Only the given branches (and HEAD, which points at main, when `with_head`) are advertised: any other
        # ref a tool might leave in the repository stays private, and a hidden HEAD or branch is neither listed
        # nor fetchable by its id (v0 serves only what the advertised refs reach). The branches move only to
        # commits the catalog committed, whose objects are on disk (docs/design.md, "Commit protocol"), so what
        # is advertised is always complete.
        # No GIT_PROTOCOL reaches git (the runner passes none on), whatever the client's Git-Protocol header
        # asks: protocol v2 hands out any object by its id, reachable or not (gitprotocol-v2(5): "wants can
        # be anything"), such as a commit whose database transaction failed. v0 serves only what the
        # advertised branch reaches, and every git client falls back to it when the answer is not v2.
        hidden = ["refs/", *(f"!{ref}" for ref in self.branch_refs), *(() if self.with_head else ("HEAD",))]
        return [
            *(arg for ref in hidden for arg in ("-c", f"uploadpack.hideRefs={ref}")),
            "upload-pack",
            "--stateless-rpc",
            *args,
            str(self.repo_path),
        ]

    async def advertisement(self) -> AsyncGenerator[bytes, None]:
        """The body of `GET info/refs?service=git-upload-pack`."""
        yield pkt_line("# service=git-upload-pack\n") + FLUSH
        async for chunk in self._run(["--advertise-refs"], body=None):
            yield chunk

    async def serve(self, body: AsyncIterator[bytes], *, gzipped: bool) -> AsyncGenerator[bytes, None]:
        """The body of `POST git-upload-pack`: `body` is the client's request, gunzipped here if need be."""
        async for chunk in self._run([], body=gunzip(body) if gzipped else body):
            yield chunk

    async def _run(self, args: list[str], *, body: AsyncIterator[bytes] | None) -> AsyncGenerator[bytes, None]:
        # Its own process group, so stopping it also stops the pack-objects it runs.
        proc = await self.runner.spawn(*self._arguments(*args), stdin=body is not None, own_group=True)
        assert proc.stdout is not None and proc.stderr is not None
        feeder = asyncio.create_task(_feed(proc, body)) if body is not None else None
        errors = asyncio.create_task(_first_bytes(proc.stderr, 4096))
        finished = False
        try:
            while chunk := await proc.stdout.read(CHUNK):
                yield chunk
            finished = True
        finally:
            # Reached on success and also when the client goes away mid-stream (the response task is
            # cancelled and this generator closed): a pack nobody reads must not keep being built.
            # Shielded: under a cancelled scope every await would be cancelled again before the reap.
            with anyio.CancelScope(shield=True):
                if not finished and proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                if feeder is not None:
                    feeder.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await feeder
                code = await proc.wait()
                stderr = await errors
            if code != 0 and finished:
                logger.warning("git upload-pack exited with %s: %s", code, stderr.decode(errors="replace").strip())
            elif not finished:
                logger.info("git upload-pack stopped: the client went away")


async def _feed(proc: asyncio.subprocess.Process, body: AsyncIterator[bytes] | None) -> None:
    assert proc.stdin is not None and body is not None
    try:
        async for chunk in body:
            proc.stdin.write(chunk)
            await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError, zlib.error):
        # upload-pack stopped reading, the client went away or sent a broken gzip body: upload-pack sees
        # its input end early and exits; its status tells the story.
        pass
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()


async def gunzip(body: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """Decompress a gzip request body (git sends large negotiations so) in bounded chunks."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    async for chunk in body:
        data = chunk
        while data:
            yield inflater.decompress(data, CHUNK)
            data = inflater.unconsumed_tail
    yield inflater.flush()


async def _first_bytes(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Read a stream to its end (so the writer never blocks on a full pipe), keeping its first bytes."""
    kept = b""
    while chunk := await stream.read(CHUNK):
        kept = (kept + chunk)[:keep]
    return kept
