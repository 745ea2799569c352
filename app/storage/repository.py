"""The vault's bare repository: where it is, how it is created and configured, and its health checks.

This is the one place that knows the repository's path. Everything else gets it from here: the runner
(`git` processes), libgit2 handles (one per thread: libgit2 objects must not be shared across threads),
Git smart HTTP.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pygit2
from anyio import to_thread

from app.storage.runner import GitRunner, GitStoreError

logger = logging.getLogger(__name__)

# libgit2 writes objects and refs with fsync, as `core.fsync=committed` makes the git program do: a commit
# object and the ref naming it are on disk before the answer leaves.
pygit2.settings.enable_fsync_gitdir(True)

MAIN = "main"

# Written when the repository is created, re-applied (only if different) by ensure().
REPO_CONFIG = {
    "core.fsync": "committed",  # git-written objects reach the disk before the command reports success
    "core.logAllRefUpdates": "always",  # bare repos keep no reflog by default; it is our undo log for the branch
    "core.filesRefLockTimeout": "1000",  # wait (ms) for a competing writer's ref lock instead of failing at once
    "gc.auto": "0",  # no surprise repacks inside a request; maintenance runs on purpose
    "receive.denyNonFastForwards": "true",
}

# A ref lock is held for the milliseconds of one ref update; one this old was left by a crash or power cut.
STALE_REF_LOCK_SECONDS = 30.0


def repository_path(data_dir: Path) -> Path:
    return Path(data_dir).absolute() / "vault.git"


def ref_name(branch: str) -> str:
    return f"refs/heads/{branch}"


@dataclass(frozen=True)
class RefLockFile:
    """A `*.lock` file beside a ref (or packed-refs): the ref cannot move while it exists."""

    path: Path
    age_seconds: float

    @property
    def stale(self) -> bool:
        return self.age_seconds >= STALE_REF_LOCK_SECONDS


class VaultRepository:
    def __init__(self, path: Path, branch: str = MAIN) -> None:
        self.path = Path(path).absolute()
        self.branch = branch
        self.ref = ref_name(branch)
        self.runner = GitRunner(self.path)
        self._local = threading.local()

    # ----- libgit2 handle ------------------------------------------------------------------------------

    def handle(self) -> pygit2.Repository:
        """This thread's libgit2 repository (opened on first use)."""
        repo: pygit2.Repository | None = getattr(self._local, "repo", None)
        if repo is None:
            try:
                repo = pygit2.Repository(str(self.path), pygit2.enums.RepositoryOpenFlag.BARE)
            except pygit2.GitError as exc:
                raise GitStoreError(f"cannot open the vault repository {self.path}: {exc}") from exc
            self._local.repo = repo
        return repo

    # ----- setup ---------------------------------------------------------------------------------------

    async def ensure(self) -> None:
        """Create the bare repository if it is missing. Idempotent, and safe when several processes race."""
        if not (self.path / "HEAD").exists():
            await self._create()
        await self._apply_config(GitRunner(self.path))

    async def _create(self) -> None:
        # Build the repository beside its final place and rename it in: a directory rename is atomic, so a
        # racing process sees either no repository or a complete one, and the loser just drops its copy.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        try:
            runner = GitRunner(staging)
            await runner.run("init", "--bare", "--quiet", f"--initial-branch={self.branch}", str(staging))
            await self._apply_config(runner)
            await to_thread.run_sync(self._move_in, staging)
        finally:
            await to_thread.run_sync(partial(shutil.rmtree, staging, ignore_errors=True))

    def _move_in(self, staging: Path) -> None:
        try:
            staging.rename(self.path)
        except OSError:
            if not (self.path / "HEAD").exists():
                raise
            logger.info("git repository created concurrently path=%s", self.path)
        else:
            logger.info("git repository created path=%s", self.path)

    @staticmethod
    async def _apply_config(runner: GitRunner) -> None:
        for key, value in REPO_CONFIG.items():
            # Only write what differs: writing takes config.lock, which racing processes would fight over,
            # and a process that loses that fight is fine if the winner wrote the same value.
            if (await runner.run("config", "--get", key, check=False)).decode().strip() == value:
                continue
            try:
                await runner.run("config", key, value)
            except GitStoreError:
                if (await runner.run("config", "--get", key, check=False)).decode().strip() != value:
                    raise

    # ----- checks (readyz, camvault doctor, camvault maintain) ------------------------------------------

    async def check(self) -> None:
        """Raise GitStoreError unless the repository answers and its object store can be written."""
        await self.runner.run("rev-parse", "--is-bare-repository")
        if not os.access(self.path / "objects", os.W_OK):
            raise GitStoreError(f"{self.path / 'objects'} is not writable")

    def ref_locks(self) -> list[RefLockFile]:
        """Every ref lock file now present (`refs/**/*.lock`, `packed-refs.lock`, `HEAD.lock`), with its age."""
        now = time.time()
        candidates = [self.path / "packed-refs.lock", self.path / "HEAD.lock"]
        refs = self.path / "refs"
        if refs.is_dir():
            candidates += refs.rglob("*.lock")
        found = []
        for path in candidates:
            try:
                found.append(RefLockFile(path, max(0.0, now - path.stat().st_mtime)))
            except FileNotFoundError:
                continue  # released while we looked
        return found

    def stale_ref_locks(self) -> list[RefLockFile]:
        """Ref locks older than STALE_REF_LOCK_SECONDS: no writer holds a ref that long, a crash left them."""
        return [lock for lock in self.ref_locks() if lock.stale]

    def clear_stale_ref_locks(self) -> list[RefLockFile]:
        """Remove the stale ref locks (the refs they guard are unchanged: a lock file is only a proposal)."""
        cleared = []
        for lock in self.stale_ref_locks():
            try:
                lock.path.unlink()
            except FileNotFoundError:
                continue
            logger.warning("removed stale git ref lock path=%s age_s=%.0f", lock.path, lock.age_seconds)
            cleared.append(lock)
        return cleared

    async def fsck(self) -> bool:
        """True when the object store is consistent. Dangling objects (unreferenced commits) are not errors."""
        code, _out, err = await self.runner.status("fsck", "--no-progress", "--no-dangling")
        if code != 0:
            logger.error("git fsck failed path=%s error=%s", self.path, err.decode(errors="replace"))
        return code == 0

    async def maintain(self) -> None:
        """Pack loose objects and prune unreachable ones older than Git's grace period (two weeks).

        Safe while the app runs: objects a writer has just written but not yet committed are recent, so they
        survive; commits whose transaction failed go once they are old.
        """
        await self.runner.run("gc", "--quiet")
