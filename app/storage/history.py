"""The vault's history: first-parent log with changed paths (reindex), and blame (per line)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

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


@dataclass(frozen=True)
class BlameLine:
    line_no: int  # 1-based, in the blamed revision
    commit: str  # full sha of the commit that last changed the line
    author: str
    date: datetime  # authored, tz-aware
    text: str  # without the line end; undecodable bytes replaced


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

    async def blame(self, commit: str, path: str) -> list[BlameLine]:
        out = await self.repo.runner.run("blame", "--porcelain", _rev(commit), "--", path)
        # Porcelain: "<sha> <orig> <final> [<count>]", then headers the first time a sha appears, then
        # "\t<content>". We remember each sha's author from its first appearance.
        authors: dict[str, tuple[str, datetime]] = {}
        lines: list[BlameLine] = []
        sha, line_no, name, epoch, tz = "", 0, "", 0, "+0000"
        for raw in out.split(b"\n"):
            if raw.startswith(b"\t"):
                if sha not in authors:
                    authors[sha] = (name, _from_epoch(epoch, tz))
                who, when = authors[sha]
                lines.append(BlameLine(line_no, sha, who, when, raw[1:].decode("utf-8", "replace")))
                continue
            key, _, value = raw.decode("utf-8", "replace").partition(" ")
            if len(key) == 40 and all(c in "0123456789abcdef" for c in key):
                sha, line_no = key, int(value.split(" ")[1])
            elif key == "author":
                name = value
            elif key == "author-time":
                epoch = int(value)
            elif key == "author-tz":
                tz = value
        return lines


def _status(letter: str) -> Literal["A", "M", "D"]:
    if letter in ("A", "M", "D"):
        return letter  # type: ignore[return-value]
    return "M"  # T (type change) is the only other letter without renames/copies; for us it is a modification


def _from_epoch(epoch: int, tz: str) -> datetime:
    sign = -1 if tz.startswith("-") else 1
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    return datetime.fromtimestamp(epoch, timezone(offset))
