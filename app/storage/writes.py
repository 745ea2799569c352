"""Writing to the vault's repository: blobs, then trees and a commit object, then (separately) a ref move.

The three steps are apart on purpose (docs/design.md, "Commit protocol"): blobs are written before any
database transaction; the tree and commit are built inside it, on the catalog's head, and referenced by
nothing; the branch ref moves only after the transaction committed, and only forward along the catalog's
history. Small blobs, trees, commits and refs go through libgit2 in the worker thread (no process per
write); large blobs are streamed into loose objects here, named by `git hash-object` (app/storage/loose.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pygit2
from anyio import to_thread

from app.storage import loose, trees
from app.storage.repository import VaultRepository
from app.storage.runner import GitStoreError, RefLocked, StorageFull, is_disk_full, raise_for_os_error

logger = logging.getLogger(__name__)

COMMITTER = ("camvault", "camvault@localhost")
# Below this a blob is read into memory and written by libgit2; from it on it is streamed (loose.py).
LARGE_BLOB_BYTES = 1 << 20
_SAMPLE_BYTES = 64 << 10
MAX_REF_ATTEMPTS = 20


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True)
class BlobInfo:
    sha: str
    size: int


@dataclass(frozen=True)
class TreeChange:
    """Put `blob` at `path`, or with blob None remove what is there."""

    path: str
    blob: BlobInfo | None


@dataclass(frozen=True)
class CommitResult:
    commit_sha: str
    parent_sha: str | None
    # The commit's author and committer time (whole seconds, as Git stores it). The catalog records this
    # same instant, so `camvault reindex` rebuilds rows identical to the ones the request wrote.
    committed_at: datetime
    blobs: dict[str, BlobInfo] = field(default_factory=dict)  # the stored (not removed) paths


RefMove = Literal["moved", "already", "repaired"]


class GitWrites:
    def __init__(self, repo: VaultRepository) -> None:
        self.repo = repo

    # ----- blobs ---------------------------------------------------------------------------------------

    async def write_blobs(self, sources: Sequence[Path]) -> list[BlobInfo]:
        """Store each file as a blob (once: this hash is the only one) and return them in order.

        Runs before any transaction: the blobs are unreferenced until a commit names them, and `git gc`
        prunes the ones no commit ever did after two weeks.
        """
        sizes = await to_thread.run_sync(_sizes, list(sources))
        sources = list(sizes)
        small = [s for s in sources if sizes[s] < LARGE_BLOB_BYTES]
        large = [s for s in sources if sizes[s] >= LARGE_BLOB_BYTES]
        found: dict[Path, BlobInfo] = {}
        if small:
            found.update(await to_thread.run_sync(self._write_small, small))
        if large:
            found.update(await self._write_large(large))
        return [found[s] for s in sources]

    def _write_small(self, sources: list[Path]) -> dict[Path, BlobInfo]:
        repo = self.repo.handle()
        out = {}
        for source in sources:
            try:
                data = source.read_bytes()
                out[source] = BlobInfo(str(repo.create_blob(data)), len(data))
            except OSError as exc:
                raise_for_os_error(exc, f"cannot store {source.name}")
            except pygit2.GitError as exc:
                error = StorageFull if self._disk_full(str(exc), len(data)) else GitStoreError
                raise error(f"cannot store a blob: {exc}") from exc
        return out

    def _disk_full(self, message: str, needed: int) -> bool:
        """Whether a libgit2 failure was a full disk: its message does not always say (ENOSPC reads "no error")."""
        if is_disk_full(message):
            return True
        try:
            return shutil.disk_usage(self.repo.path / "objects").free < needed + (1 << 20)
        except OSError:
            return False

    async def _write_large(self, sources: list[Path]) -> dict[Path, BlobInfo]:
        """Git names the files (one collision-detecting pass, one process for all) while a thread writes them."""
        objects = self.repo.path / "objects"
        levels = await to_thread.run_sync(_loose_levels, sources)
        # Without -w, git still deflates a file over core.bigFileThreshold (512 MiB) at pack.compression only to
        # name it (33 s for 1 GiB at the default level): the threshold is raised so it just hashes (3.7 s).
        naming = asyncio.ensure_future(
            self.repo.runner.run(
                "hash-object", "--no-filters", "--", *map(str, sources), config={"core.bigFileThreshold": "1024g"}
            )
        )
        # Named here, so whatever happens (a failure, a cancellation that loses a thread's answer) they are removed.
        temps = [loose.temp_path(objects) for _ in sources]
        written: list[loose.LooseObject] = []
        try:
            for source, temp in zip(sources, temps, strict=True):
                written.append(await to_thread.run_sync(loose.write_temp, temp, source, levels[source]))
            names = (await naming).decode().split()
            if len(names) != len(sources):
                raise GitStoreError("git hash-object returned an unexpected answer")
            for item, name in zip(written, names, strict=True):
                await to_thread.run_sync(loose.place, objects, item, name)
        finally:
            if not naming.done():
                naming.cancel()
                with contextlib.suppress(asyncio.CancelledError, GitStoreError):
                    await naming
            for temp in temps:
                loose.discard(temp)  # a placed object's temp file is gone already
        return {s: BlobInfo(name, item.size) for s, item, name in zip(sources, written, names, strict=True)}

    async def existing_blobs(self, shas: Sequence[str]) -> dict[str, BlobInfo]:
        """The blobs among `shas` that the store holds (a restore reuses one)."""
        return await to_thread.run_sync(self._existing_blobs, list(shas))

    def _existing_blobs(self, shas: list[str]) -> dict[str, BlobInfo]:
        repo = self.repo.handle()
        found = {}
        for sha in shas:
            try:
                obj = repo.get(sha)
            except ValueError:
                obj = None
            if isinstance(obj, pygit2.Blob):
                found[sha] = BlobInfo(str(obj.id), obj.size)
        return found

    # ----- trees and commits -----------------------------------------------------------------------------

    async def commit(
        self,
        parent: str | None,
        changes: Sequence[TreeChange],
        *,
        author: Identity,
        message: str,
    ) -> CommitResult:
        """Write the trees and the commit object for `changes` on top of `parent`; no ref moves.

        Raises trees.TreeConflict when a path runs through a file or replaces a folder.
        """
        _check_changes(changes)
        return await to_thread.run_sync(self._commit, parent, list(changes), author, message)

    def _commit(self, parent: str | None, changes: list[TreeChange], author: Identity, message: str) -> CommitResult:
        repo = self.repo.handle()
        try:
            base = repo[parent].peel(pygit2.Tree) if parent else None
            root = trees.build(repo, base, changes)
            when = int(time.time())
            who = pygit2.Signature(_ident_part(author.name), _ident_part(author.email), when, 0)
            committer = pygit2.Signature(COMMITTER[0], COMMITTER[1], when, 0)
            text = message if message.endswith("\n") else message + "\n"
            sha = repo.create_commit(None, who, committer, text, root, [parent] if parent else [])
        except (KeyError, pygit2.GitError) as exc:
            error = StorageFull if self._disk_full(str(exc), 0) else GitStoreError
            raise error(f"cannot write the commit: {exc}") from exc
        except OSError as exc:
            raise_for_os_error(exc, "cannot write the commit")
            raise
        stored = {c.path: c.blob for c in changes if c.blob is not None}
        return CommitResult(str(sha), parent, datetime.fromtimestamp(when, UTC), stored)

    # ----- refs --------------------------------------------------------------------------------------------

    async def move_ref(self, ref: str, new: str) -> RefMove:
        """Point `ref` at `new`, a commit the catalog has committed; only forward along its history.

        "already": the ref is at `new` or past it (a later commit moved it first); "moved": a fast-forward;
        "repaired": the ref pointed at a commit off the catalog's history (left by a crash of an older
        release), so it is set to `new`. Compare-and-swap against concurrent movers; RefLocked at once when
        a lock file is in the way (never a wait: the database has the change, the sweep retries).
        """
        return await to_thread.run_sync(self._move_ref, ref, new)

    def _move_ref(self, ref: str, new: str) -> RefMove:
        repo = self.repo.handle()
        target = pygit2.Oid(hex=new)
        for _attempt in range(MAX_REF_ATTEMPTS):
            current = repo.references.get(ref)
            try:
                if current is None:
                    repo.create_reference_direct(ref, target, False, message="camvault: first commit")
                    return "moved"
                old = current.target
                if old == target or repo.descendant_of(old, target):
                    return "already"
                forward = repo.descendant_of(target, old)
                # set_target is a compare-and-swap on the value `current` was read with.
                current.set_target(target, "camvault: catalog commit" if forward else "camvault: repair")
            except pygit2.AlreadyExistsError:
                continue
            except (pygit2.GitError, OSError) as exc:
                text = str(exc)
                if ".lock" in text or "locked" in text:
                    raise RefLocked(f"cannot move {ref}: {text}") from exc
                if "modified" in text or "changed" in text:
                    continue  # another mover won the race; look again
                raise GitStoreError(f"cannot move {ref}: {text}") from exc
            if not forward:
                logger.warning("git ref repaired ref=%s from=%s to=%s", ref, old, new)
                return "repaired"
            return "moved"
        raise GitStoreError(f"could not move {ref} after {MAX_REF_ATTEMPTS} attempts")

    async def set_ref(self, ref: str, new: str | None) -> None:
        """Point `ref` at `new` whatever it holds now (start-up repair); None deletes it."""
        await to_thread.run_sync(self._set_ref, ref, new)

    def _set_ref(self, ref: str, new: str | None) -> None:
        repo = self.repo.handle()
        try:
            if new is None:
                existing = repo.references.get(ref)
                if existing is not None:
                    existing.delete()
                return
            repo.create_reference_direct(ref, pygit2.Oid(hex=new), True, message="camvault: repair")
        except (pygit2.GitError, OSError) as exc:
            text = str(exc)
            raise (RefLocked if ".lock" in text else GitStoreError)(f"cannot set {ref}: {text}") from exc


def _check_changes(changes: Sequence[TreeChange]) -> None:
    if not changes:
        raise ValueError("A commit needs at least one change")
    if len({c.path for c in changes}) != len(changes):
        raise ValueError("A path may appear only once in a commit")
    for change in changes:
        if not change.path or "\0" in change.path or change.path.startswith("/") or change.path.endswith("/"):
            raise ValueError(f"Not a vault path: {change.path!r}")


def _sizes(sources: list[Path]) -> dict[Path, int]:
    return {Path(s).absolute(): _size(Path(s).absolute()) for s in sources}


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise GitStoreError(f"cannot read {path.name}: {exc}") from exc


def _loose_levels(sources: list[Path]) -> dict[Path, int]:
    """The zlib level to store each source at: 1 (the repository's), or 0 (none) for data that does not shrink.

    Deflating data that does not compress (most CAM binaries, archives, images) runs at ~30 MB/s at level 1
    and saves nothing, and it was most of an upload's time (make bench): such files are stored at level 0,
    which is as safe (same object, same fsync) and ten times faster. `camvault maintain` (git gc) later
    packs every object with the repository's own compression anyway.
    """
    return {source: 0 if _incompressible(source) else 1 for source in sources}


def _incompressible(source: Path) -> bool:
    """True when samples from the start, middle and end shrink by less than a tenth at level 1."""
    try:
        size = os.path.getsize(source)
        with open(source, "rb") as f:
            sample = b""
            for offset in (0, size // 2, max(0, size - _SAMPLE_BYTES)):
                f.seek(offset)
                sample += f.read(_SAMPLE_BYTES)
    except OSError:
        return False  # git reports the missing file, as for any other
    return len(zlib.compress(sample, 1)) > 0.9 * len(sample)


def _ident_part(value: str) -> str:
    # Git drops "<", ">" and newlines from identities and refuses an empty name; be explicit instead.
    cleaned = "".join(c for c in value if c not in "<>\n\r\0").strip()
    return cleaned or "unknown"
