"""Reading from the vault's repository: refs, small blobs whole, any blob as a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pygit2
from anyio import to_thread

from app.storage.repository import VaultRepository
from app.storage.runner import GitStoreError


class BlobTooLarge(GitStoreError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Blob is {size} bytes, more than the limit of {limit}")
        self.size = size
        self.limit = limit


class GitReads:
    def __init__(self, repo: VaultRepository) -> None:
        self.repo = repo

    async def ref(self, ref: str) -> str | None:
        """The commit a ref points at, or None when it does not exist."""
        return await to_thread.run_sync(self._ref, ref)

    def _ref(self, ref: str) -> str | None:
        found = self.repo.handle().references.get(ref)
        return str(found.target) if found is not None else None

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when `ancestor` is `descendant` or in its history."""
        return await to_thread.run_sync(self._is_ancestor, ancestor, descendant)

    def _is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        try:
            return bool(self.repo.handle().descendant_of(descendant, ancestor))
        except (KeyError, pygit2.GitError):
            return False

    async def has_commit(self, sha: str) -> bool:
        return await to_thread.run_sync(self._has_commit, sha)

    def _has_commit(self, sha: str) -> bool:
        try:
            return isinstance(self.repo.handle().get(sha), pygit2.Commit)
        except ValueError:
            return False

    async def read_blob(self, sha: str, limit: int) -> bytes:
        """The whole blob, for small text files (diffs); BlobTooLarge when it is bigger than `limit` bytes."""
        return await to_thread.run_sync(self._read_blob, sha, limit)

    def _read_blob(self, sha: str, limit: int) -> bytes:
        repo = self.repo.handle()
        try:
            header = repo.odb.read_header(sha)  # (type, size) without inflating the object
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise GitStoreError(f"no blob {sha}") from exc
        size = int(header[1])
        if size > limit:
            raise BlobTooLarge(size, limit)
        blob = repo.get(sha)
        if not isinstance(blob, pygit2.Blob):
            raise GitStoreError(f"{sha} is not a blob")
        return bytes(blob.data)

    async def stream_blob(
        self, blob_sha: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> AsyncIterator[bytes]:
        """Yield bytes `start` up to (not including) `end` of a blob, never holding more than one chunk.

        A `git cat-file` pipe read on the event loop (no thread per download, any size); if the consumer
        stops early the process is killed and reaped.
        """
        remaining = None if end is None else max(0, end - start)
        to_skip = start
        if remaining == 0:
            return
        stream = self.repo.runner.stream("cat-file", "blob", _rev(blob_sha), chunk_size=chunk_size)
        try:
            async for piece in stream:
                chunk = piece
                if to_skip:
                    dropped = min(to_skip, len(chunk))
                    chunk, to_skip = chunk[dropped:], to_skip - dropped
                if remaining is not None:
                    chunk, remaining = chunk[:remaining], remaining - min(remaining, len(chunk))
                if chunk:
                    yield chunk
                if remaining == 0:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


def _rev(rev: str) -> str:
    # Revisions reach git as arguments; one starting with "-" would be read as an option.
    if not rev or rev.startswith("-") or any(c.isspace() or c == "\0" for c in rev):
        raise ValueError(f"Not a revision: {rev!r}")
    return rev
