"""The one way camvault runs the `git` program: an asyncio subprocess per command, on the event loop.

Everything else in the store that needs the git binary (history, blame, large blobs, fsck, gc, streams)
goes through `GitRunner`, so every process gets the same environment, is killed if its caller goes away,
and reports failures the same way. In-process work (small blobs, trees, commits, refs) uses libgit2
through `app/storage/repository.py` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

logger = logging.getLogger(__name__)

GIT = "git"

# Literal pathspecs so a vault path like ":(glob)x.nc" means that file; no prompts or pagers from a server.
_BASE_ENV = {"GIT_LITERAL_PATHSPECS": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"}


class GitStoreError(RuntimeError):
    """Git failed in a way the caller cannot fix by changing its request."""


class StorageFull(GitStoreError):
    """The disk holding the vault is full: nothing was stored."""


class RefLocked(GitStoreError):
    """A ref's lock file exists: another writer holds it, or a crash left it behind (see stale_ref_locks)."""


def is_disk_full(text: str) -> bool:
    return "No space left on device" in text or "Disk quota exceeded" in text


def raise_for_os_error(exc: OSError, what: str) -> NoReturn:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or is_disk_full(str(exc)):
        raise StorageFull(f"{what}: no space left on the vault's disk") from exc
    raise GitStoreError(f"{what}: {exc}") from exc


class GitRunner:
    """Runs `git` against one repository; `git_dir` is given by the repository, never built here."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        # Nothing inherited from a GIT_* variable of the server's environment (GIT_PROTOCOL above all).
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self.env = {**inherited, **_BASE_ENV, "GIT_DIR": str(git_dir)}

    def _argv(self, args: tuple[str, ...], config: dict[str, str] | None) -> list[str]:
        options = [item for key, value in (config or {}).items() for item in ("-c", f"{key}={value}")]
        return [GIT, *options, *args]

    async def run(
        self, *args: str, stdin: bytes | None = None, config: dict[str, str] | None = None, check: bool = True
    ) -> bytes:
        """The command's stdout; GitStoreError (StorageFull on a full disk) when it fails and `check` is set."""
        code, out, err = await self.status(*args, stdin=stdin, config=config)
        if code != 0 and check:
            message = err.decode(errors="replace").strip()
            command = args[0] if args else "git"
            error = StorageFull if is_disk_full(message) else GitStoreError
            raise error(f"git {command} failed: {message}")
        return out

    async def spawn(
        self,
        *args: str,
        config: dict[str, str] | None = None,
        stdin: bool = False,
        own_group: bool = False,
    ) -> asyncio.subprocess.Process:
        """Start git with pipes for stdout and stderr (and stdin); `own_group` puts it in its own process group,
        so that killing the group also stops the processes it starts (upload-pack's pack-objects)."""
        return await asyncio.create_subprocess_exec(
            *self._argv(args, config),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=self.git_dir if self.git_dir.is_dir() else None,
            start_new_session=own_group,
        )

    async def status(
        self, *args: str, stdin: bytes | None = None, config: dict[str, str] | None = None
    ) -> tuple[int, bytes, bytes]:
        """(exit code, stdout, stderr); the process is killed if the caller is cancelled."""
        proc = await self.spawn(*args, config=config, stdin=stdin is not None)
        try:
            out, err = await proc.communicate(stdin)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        return proc.returncode or 0, out, err

    async def stream(self, *args: str, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Yield the command's stdout in chunks; if the consumer stops early the process is killed and reaped."""
        proc = await self.spawn(*args)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            while chunk := await proc.stdout.read(chunk_size):
                yield chunk
            # We read to EOF, so git has finished: a failure (unknown object) shows up here.
            stderr = await proc.stderr.read()
            if await proc.wait() != 0:
                raise GitStoreError(f"git {args[0]} failed: {stderr.decode(errors='replace').strip()}")
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                # asyncio reports the exit only once both pipes reach EOF, and it stops reading a full pipe, so
                # drain what git wrote before it died (at most a pipe buffer) or wait() would never return.
                while await proc.stdout.read(1 << 16):
                    pass
                await proc.stderr.read()
                await proc.wait()
