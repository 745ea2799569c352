"""The vault's history: first-parent log with changed paths (reindex), and where each line of a file came from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pygit2
from anyio import to_thread

from app.storage.reads import _rev
from app.storage.repository import VaultRepository
from app.storage.writes import BlobInfo

_HEX = re.compile(r"[0-9a-f]{40,64}")


@dataclass(frozen=True)
class FileChange:
    path: str
    status: Literal["A", "M", "D"]
    blob: BlobInfo | None  # None for a deletion


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parent_sha: str | None
    author_name: str
    author_email: str
    authored_at: datetime
    message: str
    changes: list[FileChange]


# Git's own test for binary content: a NUL byte in the first 8000 bytes.
_BINARY_PROBE = 8000


def split_lines(data: bytes) -> list[bytes]:
    """Lines as Git counts them: split at LF, a last line without one counts, an empty blob has none."""
    if not data:
        return []
    lines = data.split(b"\n")
    return lines[:-1] if data.endswith(b"\n") else lines


class GitHistory:
    def __init__(self, repo: VaultRepository) -> None:
        self.repo = repo

    async def commits(self, until: str | None) -> list[CommitInfo]:
        """First-parent history up to the commit `until` (None: empty), oldest first, with changed paths."""
        if until is None:
            return []
        fmt = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%B"
        out = await self.repo.runner.run(
            "log",
            "-z",
            "--raw",
            "--root",
            "--no-renames",
            "--no-abbrev",
            "--first-parent",
            "--reverse",
            f"--format={fmt}",
            _rev(until),
            "--",
        )
        # Tokens: six header fields per commit, then pairs (":<modes> <old> <new> <status>", path) until the
        # next commit's sha. A sha never starts with ":", and no field can contain NUL.
        tokens = out.decode("utf-8", "surrogateescape").split("\0")
        raw: list[tuple[str, str | None, str, str, str, str, list[tuple[str, str, str]]]] = []
        i = 0
        while i + 6 <= len(tokens) and tokens[i]:
            sha, parents, name, email, date, body = tokens[i : i + 6]
            i += 6
            entries: list[tuple[str, str, str]] = []
            while i + 1 < len(tokens) and tokens[i].lstrip("\n").startswith(":"):
                _modes_old, _mode_new, _old, new, status = tokens[i].lstrip("\n")[1:].split(" ")
                entries.append((tokens[i + 1], status[0], new))
                i += 2
            raw.append((sha.lstrip("\n"), parents.split(" ")[0] or None, name, email, date, body, entries))

        sizes = await to_thread.run_sync(
            self._sizes, {new for *_, entries in raw for _, status, new in entries if status != "D"}
        )
        result = []
        for sha, parent, name, email, date, body, entries in raw:
            changes = [
                FileChange(path, "D", None) if status == "D" else FileChange(path, _status(status), sizes[new])
                for path, status, new in entries
            ]
            message = body[:-1] if body.endswith("\n") else body  # commit messages end with a newline
            result.append(CommitInfo(sha, parent, name, email, datetime.fromisoformat(date), message, changes))
        return result

    def _sizes(self, shas: set[str]) -> dict[str, BlobInfo]:
        odb = self.repo.handle().odb
        return {sha: BlobInfo(sha, int(odb.read_header(sha)[1])) for sha in shas if _HEX.fullmatch(sha)}

    async def line_origins(self, blobs: Sequence[tuple[str, int]], limit: int) -> list[int]:
        """For each line of the last blob, the index (in `blobs`) of the blob that brought it in.

        Blame over an explicit sequence, a file's versions in order, instead of over a path: the catalog knows
        which blob was which version wherever the file was at the time, so renames, moves and restores need
        no guessing. Each step is one libgit2 diff (Git's own algorithm); a blob over `limit` bytes or with
        binary content brings in every line of the next one.
        """
        return await to_thread.run_sync(self._line_origins, list(blobs), limit)

    def _line_origins(self, blobs: list[tuple[str, int]], limit: int) -> list[int]:
        repo = self.repo.handle()
        origins: list[int] = []
        previous: pygit2.Blob | None = None
        for index, (sha, size) in enumerate(blobs):
            blob = repo.get(sha) if size <= limit else None
            if not isinstance(blob, pygit2.Blob) or b"\0" in blob.data[:_BINARY_PROBE]:
                previous, origins = None, []
                continue
            lines = len(split_lines(blob.data))
            origins = [index] * lines if previous is None else _carry(origins, previous.diff(blob), lines, index)
            previous = blob
        return origins

    async def authors(self, commits: Sequence[str]) -> dict[str, str]:
        """The Git author name of each commit (a user's full name, as blame shows it)."""
        return await to_thread.run_sync(self._authors, list(commits))

    def _authors(self, commits: list[str]) -> dict[str, str]:
        repo = self.repo.handle()
        found: dict[str, str] = {}
        for sha in commits:
            commit = repo.get(sha) if _HEX.fullmatch(sha) else None
            if isinstance(commit, pygit2.Commit):
                found[sha] = commit.author.name
        return found


def _carry(old: list[int], patch: pygit2.Patch, lines: int, index: int) -> list[int]:
    """Origins of the new blob's lines: added lines are `index`'s, the others keep their old line's, in order."""
    added: set[int] = set()
    removed: set[int] = set()
    for hunk in patch.hunks:
        for line in hunk.lines:
            if line.origin == "+":
                added.add(line.new_lineno - 1)
            elif line.origin == "-":
                removed.add(line.old_lineno - 1)
    kept = iter(origin for number, origin in enumerate(old) if number not in removed)
    return [index if number in added else next(kept, index) for number in range(lines)]


def _status(letter: str) -> Literal["A", "M", "D"]:
    if letter in ("A", "M", "D"):
        return letter  # type: ignore[return-value]
    return "M"  # T (type change) is the only other letter without renames/copies; for us it is a modification
