"""The vault's Git repository: the only code in camvault that runs Git (DESIGN.md section 5).

One bare repository, one branch. Writes never touch a working tree: blobs are hashed straight from the
caller's temp files, the tree is built in a private index file, and the branch moves with a compare-and-swap
`update-ref`, so any number of threads and processes can write at once without losing a commit.
GitPython is blocking, so every public coroutine runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import git
from anyio import to_thread

from app.storage import trees

logger = logging.getLogger(__name__)

T = TypeVar("T")

ZERO_SHA = "0" * 40
COMMITTER = ("camvault", "camvault@localhost")
MAX_CAS_ATTEMPTS = 50
_HEX_PREFIX = re.compile(r"[0-9a-f]{4,40}")
# Files this large are sampled to choose their loose-object compression (see _by_loose_level).
_SAMPLE_FROM_BYTES = 1 << 20
_SAMPLE_BYTES = 64 << 10

# Every Git process gets these: GIT_DIR so nothing depends on cwd or an inherited GIT_DIR, literal pathspecs so
# a vault path like ":(glob)x.nc" means that file, and no prompts or pagers from a server process.
_BASE_ENV = {"GIT_LITERAL_PATHSPECS": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"}

# Written when the repository is created, re-applied (only if different) by ensure_repo.
_REPO_CONFIG = {
    "core.fsync": "committed",  # objects and refs reach the disk before update-ref reports success
    "core.logAllRefUpdates": "always",  # bare repos keep no reflog by default; it is our undo log for the branch
    "core.filesRefLockTimeout": "1000",  # wait (ms) for a competing writer's ref lock instead of failing at once
    "gc.auto": "0",  # no surprise repacks inside a request; maintenance runs on purpose
    "receive.denyNonFastForwards": "true",
}


class GitStoreError(RuntimeError):
    """Git failed in a way the caller cannot fix by changing its request."""


class BlobTooLarge(GitStoreError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Blob is {size} bytes, more than the limit of {limit}")
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True)
class Change:
    """Store the file at `source` as `path`; or store the existing blob `blob_sha` there (restore); or, with
    neither, delete `path`."""

    path: str
    source: Path | None
    blob_sha: str | None = None


@dataclass(frozen=True)
class BlobInfo:
    sha: str
    size: int


@dataclass(frozen=True)
class CommitResult:
    commit_sha: str
    parent_sha: str | None
    # The commit's author and committer time (whole seconds, as Git stores it). The catalog records this
    # same instant, so `camvault reindex` rebuilds rows identical to the ones the request wrote.
    committed_at: datetime
    blobs: dict[str, BlobInfo] = field(default_factory=dict)  # the stored (not deleted) paths


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


class GitStore:
    def __init__(self, repo_path: Path, branch: str = "main") -> None:
        self.repo_path = Path(repo_path).absolute()  # git runs with the repository as its cwd
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self._env = {**_BASE_ENV, "GIT_DIR": str(self.repo_path)}
        self._repo: git.Repo | None = None
        # Writers in one process would only race each other for the same branch move; queueing them here keeps
        # the compare-and-swap retries for what it is for, writers in other processes.
        self._commit_lock = threading.Lock()

    # ----- setup -------------------------------------------------------------------------------------------

    def ensure_repo(self) -> None:
        """Create the bare repository if it is missing. Idempotent, and safe when several processes race."""
        if not (self.repo_path / "HEAD").exists():
            self._create_repo()
        self._apply_config(self._git_at(self.repo_path))

    def _create_repo(self) -> None:
        # Build the repository beside its final place and rename it in: a directory rename is atomic, so a
        # racing process sees either no repository or a complete one, and the loser just drops its copy.
        self.repo_path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.repo_path.name}.", dir=self.repo_path.parent))
        try:
            cmd = self._git_at(staging)
            cmd.init("--bare", "--quiet", f"--initial-branch={self.branch}", env={"GIT_DIR": str(staging)})
            self._apply_config(cmd)
            try:
                staging.rename(self.repo_path)
            except OSError:
                if not (self.repo_path / "HEAD").exists():
                    raise
                logger.info("git repository created concurrently path=%s", self.repo_path)
            else:
                logger.info("git repository created path=%s", self.repo_path)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _git_at(self, path: Path) -> git.Git:
        return git.Git(str(path))

    def _apply_config(self, cmd: git.Git) -> None:
        env = {"GIT_DIR": cmd.working_dir or ""}
        for key, value in _REPO_CONFIG.items():
            # Only write what differs: writing takes config.lock, which racing processes would fight over,
            # and a process that loses that fight is fine if the winner wrote the same value.
            if cmd.config("--get", key, env=env, with_exceptions=False) == value:
                continue
            try:
                cmd.config(key, value, env=env)
            except git.GitCommandError:
                if cmd.config("--get", key, env=env, with_exceptions=False) != value:
                    raise

    @property
    def _git(self) -> git.Git:
        # git.Repo validates the path once; its command wrapper is safe to share between threads because we
        # pass every per-call setting (index file, identities) as `env=` instead of mutating the wrapper.
        if self._repo is None:
            self._repo = git.Repo(self.repo_path)
        return self._repo.git

    def _run(self, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        try:
            return self._git.execute(["git", *args], env={**self._env, **(env or {})}, **kwargs)
        except git.GitCommandError as exc:
            command = args[2] if args[0] == "-c" else args[0]
            raise GitStoreError(f"git {command} failed: {_stderr(exc)}") from exc

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    # ----- writing -----------------------------------------------------------------------------------------

    async def write(self, changes: list[Change], *, author: Identity, message: str) -> CommitResult:
        """Commit `changes` on top of the branch tip as one commit by `author`, retrying if another writer wins."""
        return await _in_thread(partial(self._write, changes, author, message))

    def _write(self, changes: list[Change], author: Identity, message: str) -> CommitResult:
        if not changes:
            raise ValueError("A commit needs at least one change")
        if len({c.path for c in changes}) != len(changes):
            raise ValueError("A path may appear only once in a commit")
        for change in changes:
            if not change.path or "\0" in change.path or change.path.startswith("/"):
                raise ValueError(f"Not a vault path: {change.path!r}")
            if change.source is not None and change.blob_sha is not None:
                raise ValueError("A change stores either a file or an existing blob, not both")
        blobs = self._hash_sources([c for c in changes if c.source is not None])
        blobs.update(self._existing_blobs([c for c in changes if c.blob_sha is not None]))
        removed = [c.path for c in changes if c.source is None and c.blob_sha is None]
        when = int(time.time())
        commit_env = {
            "GIT_AUTHOR_NAME": _ident_part(author.name),
            "GIT_AUTHOR_EMAIL": _ident_part(author.email),
            "GIT_AUTHOR_DATE": f"@{when} +0000",
            "GIT_COMMITTER_NAME": COMMITTER[0],
            "GIT_COMMITTER_EMAIL": COMMITTER[1],
            "GIT_COMMITTER_DATE": f"@{when} +0000",
        }
        with self._commit_lock:
            return self._commit(blobs, removed, commit_env, message, datetime.fromtimestamp(when, UTC))

    def _commit(
        self, blobs: dict[str, BlobInfo], removed: list[str], commit_env: dict[str, str], message: str, when: datetime
    ) -> CommitResult:
        last_error: GitStoreError | None = None
        for attempt in range(1, MAX_CAS_ATTEMPTS + 1):
            parent = self._tip()
            tree = self._build_tree(parent, removed, blobs)
            parent_args = ["-p", parent] if parent else []
            commit = self._run("commit-tree", tree, *parent_args, "-m", message, env=commit_env)
            try:
                self._run("update-ref", "-m", f"camvault: {message[:80]}", self.ref, commit, parent or ZERO_SHA)
            except GitStoreError as exc:
                last_error = exc
                # Another writer moved the branch (or holds its lock): rebuild on the new tip. Our lost commit
                # object is unreferenced and harmless; gc removes it.
                logger.debug("git cas lost attempt=%d ref=%s error=%s", attempt, self.ref, exc)
                time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))  # noqa: S311 - jitter, not crypto
                continue
            logger.info(
                "git commit sha=%s parent=%s paths=%d attempts=%d", commit, parent, len(blobs) + len(removed), attempt
            )
            return CommitResult(commit_sha=commit, parent_sha=parent, committed_at=when, blobs=blobs)
        raise GitStoreError(f"Could not move {self.ref} after {MAX_CAS_ATTEMPTS} attempts") from last_error

    def _hash_sources(self, stored: list[Change]) -> dict[str, BlobInfo]:
        if not stored:
            return {}
        # Absolute, because git runs inside the repository directory, not in our cwd.
        sources = [str(Path(c.source).absolute()) for c in stored if c.source is not None]
        shas: dict[str, str] = {}
        for level, group in _by_loose_level(sources).items():
            # One process per compression level for all its files; git streams each file into the object store.
            config = ["-c", f"core.looseCompression={level}"] if level is not None else []
            out: str = self._run(*config, "hash-object", "-w", "--no-filters", "--", *group)
            answer = out.split()
            if len(answer) != len(group):
                raise GitStoreError("git hash-object returned an unexpected answer")
            shas.update(zip(group, answer, strict=True))
        # The sources are the caller's private temp files, so their size now is the size git just hashed.
        return {c.path: BlobInfo(shas[src], os.path.getsize(src)) for c, src in zip(stored, sources, strict=True)}

    def _existing_blobs(self, reused: list[Change]) -> dict[str, BlobInfo]:
        infos = self._blob_infos({c.blob_sha for c in reused if c.blob_sha})
        missing = [c.blob_sha for c in reused if c.blob_sha not in infos]
        if missing:
            raise GitStoreError(f"No such blob: {', '.join(str(sha) for sha in missing)}")
        return {c.path: infos[str(c.blob_sha)] for c in reused}

    def _build_tree(self, parent: str | None, removed: list[str], stored: dict[str, BlobInfo]) -> str:
        """The commit's tree: the parent's, with only the touched folders read and rewritten (app/storage/trees.py).

        Its cost follows the size of the touched folders, not of the vault. The first commit, and paths that
        `<rev>:<path>` cannot name on one line, go through an index file instead.
        """
        changed = [*removed, *stored]
        if parent is None or any("\n" in path or path.startswith(("./", "../")) for path in changed):
            return self._build_tree_in_index(parent, removed, stored)
        folders = trees.folders_of(changed)
        names = "".join(f"{parent}:{folder}\n" if folder else f"{parent}^{{tree}}\n" for folder in folders)
        with _stdin(names.encode("utf-8", "surrogateescape")) as stdin:
            out: bytes = self._run(
                "cat-file", "--batch", istream=stdin, stdout_as_string=False, strip_newline_in_stdout=False
            )
        current = dict(zip(folders, _batch_trees(out, len(folders)), strict=True))
        try:
            root, new = trees.edit(current, {path: blob.sha for path, blob in stored.items()}, removed)
        except trees.TreeConflict as exc:
            raise GitStoreError(str(exc)) from exc
        self._write_trees(new)
        return root

    def _write_trees(self, new: dict[str, bytes]) -> None:
        """Store the trees in one `hash-object` process, which checks each one (sorted, valid modes)."""
        with tempfile.TemporaryDirectory(prefix="camvault-trees-") as tmp:
            files = []
            for sha, content in new.items():
                (Path(tmp) / sha).write_bytes(content)
                files.append(str(Path(tmp) / sha))
            out: str = self._run("hash-object", "-w", "-t", "tree", "--", *files)
        if out.split() != list(new):
            raise GitStoreError("git stored a tree under another id than the one computed for it")

    def _build_tree_in_index(self, parent: str | None, removed: list[str], stored: dict[str, BlobInfo]) -> str:
        # A private index per call: the repository has no shared index, so concurrent writers never meet here.
        with tempfile.TemporaryDirectory(prefix="camvault-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self._run("read-tree", parent, env=env)
            if removed:
                # Mode 0 in --index-info removes an entry; `--force-remove <path>` would demand a work tree.
                with _stdin("".join(f"0 {ZERO_SHA}\t{path}\0" for path in removed).encode()) as stdin:
                    self._run("update-index", "-z", "--index-info", env=env, istream=stdin)
            if stored:
                # --cacheinfo (unlike --index-info) refuses to turn a file into a folder or back, which would
                # silently drop files the catalog still lists.
                args = [arg for path, blob in stored.items() for arg in ("--cacheinfo", f"100644,{blob.sha},{path}")]
                self._run("update-index", "--add", *args, env=env)
            tree: str = self._run("write-tree", env=env)
            return tree

    def _tip(self) -> str | None:
        # for-each-ref answers "" for a missing branch, where rev-parse would fail like any other error.
        out: str = self._run("for-each-ref", "--format=%(objectname)", self.ref)
        return out.strip() or None

    # ----- reading -----------------------------------------------------------------------------------------

    async def check(self) -> None:
        """Raise GitStoreError unless the repository answers and its object store can be written."""
        await _in_thread(self._check)

    def _check(self) -> None:
        self._run("rev-parse", "--is-bare-repository")
        if not os.access(self.repo_path / "objects", os.W_OK):
            raise GitStoreError(f"{self.repo_path / 'objects'} is not writable")

    async def head(self) -> str | None:
        return await _in_thread(self._tip)

    async def blob_at(self, rev: str, path: str) -> BlobInfo | None:
        """The blob stored at `path` in commit `rev`, or None when there is no file there."""
        return await _in_thread(partial(self._blob_at, rev, path))

    def _blob_at(self, rev: str, path: str) -> BlobInfo | None:
        out: bytes = self._run("ls-tree", "-l", "-z", _rev(rev), "--", path, stdout_as_string=False)
        for entry in out.split(b"\0"):
            meta, _, name = entry.partition(b"\t")
            fields = meta.split()
            if name.decode("utf-8", "surrogateescape") == path and len(fields) == 4 and fields[1] == b"blob":
                return BlobInfo(fields[2].decode(), int(fields[3]))
        return None

    async def hash_file(self, source: Path) -> str:
        """The blob sha `source` would get, without storing it (to spot a check-in with unchanged content)."""
        return await _in_thread(partial(self._hash_file, source))

    def _hash_file(self, source: Path) -> str:
        out: str = self._run("hash-object", "--no-filters", "--", str(Path(source).absolute()))
        return out.strip()

    async def blob_size(self, sha: str) -> int:
        out = await _in_thread(partial(self._run, "cat-file", "-s", _rev(sha)))
        return int(out)

    async def read_blob(self, sha: str, limit: int) -> bytes:
        """The whole blob, for small text files (diffs); BlobTooLarge when it is bigger than `limit` bytes."""
        return await _in_thread(partial(self._read_blob, sha, limit))

    def _read_blob(self, sha: str, limit: int) -> bytes:
        size = int(self._run("cat-file", "-s", _rev(sha)))
        if size > limit:
            raise BlobTooLarge(size, limit)
        data: bytes = self._run("cat-file", "blob", sha, stdout_as_string=False, strip_newline_in_stdout=False)
        return data

    async def stream_blob(
        self, blob_sha: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> AsyncIterator[bytes]:
        """Yield bytes `start` up to (not including) `end` of a blob, never holding more than one chunk.

        This reads a `git cat-file` pipe directly on the event loop (no thread per download); if the consumer
        stops early the process is killed and reaped.
        """
        remaining = None if end is None else max(0, end - start)
        proc = await asyncio.create_subprocess_exec(
            git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git",
            f"--git-dir={self.repo_path}",
            "cat-file",
            "blob",
            _rev(blob_sha),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        assert proc.stdout is not None and proc.stderr is not None
        try:
            to_skip = start
            while remaining is None or remaining > 0:
                chunk = await proc.stdout.read(chunk_size)
                if not chunk:
                    break
                if to_skip:
                    dropped = min(to_skip, len(chunk))
                    chunk, to_skip = chunk[dropped:], to_skip - dropped
                if remaining is not None:
                    chunk, remaining = chunk[:remaining], remaining - min(remaining, len(chunk))
                if chunk:
                    yield chunk
            if remaining is None or remaining > 0:
                # We read to EOF, so git has finished: a failure (unknown sha) shows up here.
                stderr = await proc.stderr.read()
                if await proc.wait() != 0:
                    raise GitStoreError(f"git cat-file failed: {stderr.decode(errors='replace').strip()}")
        finally:
            if proc.returncode is None:
                proc.kill()
                # asyncio only reports the exit once both pipes reach EOF, and it stops reading a full pipe, so
                # drain what git wrote before it died (at most a pipe buffer) or wait() would never return.
                while await proc.stdout.read(1 << 16):
                    pass
                await proc.stderr.read()
                await proc.wait()

    # ----- history -----------------------------------------------------------------------------------------

    async def commits(self) -> list[CommitInfo]:
        """The branch's first-parent history, oldest first, with each commit's changed paths and new blobs."""
        return await _in_thread(self._commits)

    def _commits(self) -> list[CommitInfo]:
        if self._tip() is None:
            return []
        fmt = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%B"
        out: bytes = self._run(
            "log",
            "-z",
            "--raw",
            "--root",
            "--no-renames",
            "--no-abbrev",
            "--first-parent",
            "--reverse",
            f"--format={fmt}",
            self.ref,
            "--",
            stdout_as_string=False,
            strip_newline_in_stdout=False,
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
            raw.append((sha, parents.split(" ")[0] or None, name, email, date, body, entries))

        sizes = self._blob_infos({new for *_, entries in raw for _, status, new in entries if status != "D"})
        result = []
        for sha, parent, name, email, date, body, entries in raw:
            changes = [
                FileChange(path, "D", None) if status == "D" else FileChange(path, _status(status), sizes[new])
                for path, status, new in entries
            ]
            message = body[:-1] if body.endswith("\n") else body  # commit-tree -m adds the final newline
            result.append(CommitInfo(sha, parent, name, email, datetime.fromisoformat(date), message, changes))
        return result

    def _blob_infos(self, shas: set[str]) -> dict[str, BlobInfo]:
        """Size of each sha that names a blob; others (missing, trees...) are left out."""
        if not shas:
            return {}
        if any(not _HEX_PREFIX.fullmatch(sha) for sha in shas):
            raise ValueError("Blob names must be hex shas")
        # One batch process for all blobs instead of one `cat-file -s` per blob.
        with _stdin("".join(f"{sha}\n" for sha in shas).encode()) as stdin:
            out: str = self._run("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)", istream=stdin)
        infos = {}
        for asked, line in zip(shas, out.splitlines(), strict=True):  # answers come in the order asked
            fields = line.split(" ")
            if len(fields) == 3 and fields[1] == "blob":
                infos[asked] = BlobInfo(fields[0], int(fields[2]))
        return infos

    async def blame(self, commit: str, path: str) -> list[BlameLine]:
        return await _in_thread(partial(self._blame, commit, path))

    def _blame(self, commit: str, path: str) -> list[BlameLine]:
        out: bytes = self._run(
            "blame", "--porcelain", _rev(commit), "--", path, stdout_as_string=False, strip_newline_in_stdout=False
        )
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

    # ----- checks ------------------------------------------------------------------------------------------

    def maintain(self) -> None:
        """Pack loose objects and prune unreachable ones older than Git's grace period (two weeks).

        Safe while the app runs: objects a writer has just hashed but not yet committed are recent, so they
        survive; lost compare-and-swap attempts and commits whose transaction failed go once they are old.
        """
        self._run("gc", "--quiet")

    async def fsck(self) -> bool:
        """True when the object store is consistent. Dangling objects (lost races) are not errors."""
        return await _in_thread(self._fsck)

    def _fsck(self) -> bool:
        status, _out, err = self._git.execute(
            ["git", "fsck", "--no-progress", "--no-dangling"],
            env=self._env,
            with_exceptions=False,
            with_extended_output=True,
        )
        if status != 0:
            logger.error("git fsck failed path=%s error=%s", self.repo_path, err)
        return bool(status == 0)

    async def resolve_commit(self, sha_prefix: str) -> str | None:
        """The full sha of the commit on the branch that `sha_prefix` names, else None (unknown, ambiguous...)."""
        return await _in_thread(partial(self._resolve_commit, sha_prefix))

    def _resolve_commit(self, sha_prefix: str) -> str | None:
        prefix = sha_prefix.lower()
        if not _HEX_PREFIX.fullmatch(prefix):
            return None
        try:
            sha: str = self._run("rev-parse", "--verify", "--quiet", f"{prefix}^{{commit}}")
            # A commit that lost a CAS race exists as an object but is not part of the vault's history.
            self._run("merge-base", "--is-ancestor", sha, self.ref)
        except GitStoreError:
            return None
        return sha

    async def rev_exists(self, sha: str) -> bool:
        """True when `sha` names a commit in the branch's history."""
        return await self.resolve_commit(sha) is not None


async def _in_thread(func: Callable[[], T]) -> T:
    return await to_thread.run_sync(func)


def _batch_trees(out: bytes, count: int) -> list[trees.Tree | None]:
    """`cat-file --batch` answers, in order: each a tree, or None for a missing object or one that is not a tree."""
    found: list[trees.Tree | None] = []
    i = 0
    for _ in range(count):
        end = out.index(b"\n", i)
        line, i = out[i:end], end + 1
        if line.endswith((b" missing", b" ambiguous")):  # "<name as asked> missing"; the name may hold spaces
            found.append(None)
            continue
        header = line.split(b" ")
        size = int(header[2])
        content, i = out[i : i + size], i + size + 1  # the content is followed by a newline
        found.append(trees.Tree.parse(content) if header[1] == b"tree" else None)
    return found


def _by_loose_level(sources: list[str]) -> dict[int | None, list[str]]:
    """The sources grouped by the zlib level to store them at: None (the repository's, 1) or 0 (no compression).

    `hash-object -w` deflates every new object. On data that does not compress (most CAM binaries, archives,
    images) level 1 runs at ~30 MB/s and saves nothing, and it was most of an upload's time (make bench): such
    files are stored at level 0, which is as safe (same object, same fsync) and ten times faster. `camvault
    maintain` (git gc) later packs every object with the repository's own compression anyway.
    """
    groups: dict[int | None, list[str]] = {}
    for source in sources:
        groups.setdefault(0 if _incompressible(source) else None, []).append(source)
    return groups


def _incompressible(source: str) -> bool:
    """True when samples from the start, middle and end of a large file shrink by less than a tenth at level 1."""
    try:
        size = os.path.getsize(source)
    except OSError:
        return False  # git reports the missing file, as for any other
    if size < _SAMPLE_FROM_BYTES:
        return False  # small files cost little to deflate, and text (NC programs) shrinks a lot
    with open(source, "rb") as f:
        sample = b""
        for offset in (0, size // 2, size - _SAMPLE_BYTES):
            f.seek(offset)
            sample += f.read(_SAMPLE_BYTES)
    return len(zlib.compress(sample, 1)) > 0.9 * len(sample)


def _rev(rev: str) -> str:
    # Revisions reach git as arguments; one starting with "-" would be read as an option.
    if not rev or rev.startswith("-") or any(c.isspace() or c == "\0" for c in rev):
        raise ValueError(f"Not a revision: {rev!r}")
    return rev


def _status(letter: str) -> Literal["A", "M", "D"]:
    if letter in ("A", "M", "D"):
        return letter  # type: ignore[return-value]
    return "M"  # T (type change) is the only other letter without renames/copies; for us it is a modification


def _ident_part(value: str) -> str:
    # Git silently drops "<", ">" and newlines from identities and refuses an empty name; be explicit instead.
    cleaned = "".join(c for c in value if c not in "<>\n\r\0").strip()
    return cleaned or "unknown"


def _from_epoch(epoch: int, tz: str) -> datetime:
    sign = -1 if tz.startswith("-") else 1
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    return datetime.fromtimestamp(epoch, timezone(offset))


def _stderr(exc: git.GitCommandError) -> str:
    return str(exc.stderr).strip().removeprefix("stderr: ").strip("'").strip()


@contextmanager
def _stdin(data: bytes) -> Iterator[IO[bytes]]:
    """A real file: GitPython hands `istream` to the child as stdin, so it needs a file descriptor."""
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.seek(0)
        yield file
