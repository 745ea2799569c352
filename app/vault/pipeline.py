"""The write pipeline: every change to the vault goes through here, in this order.

    stage()            blobs written once (hashed once), before any transaction or row lock
                       (stage_with_facts(): and the NC programs' facts parsed meanwhile, in a thread; a program
                       over NC_FACTS_INLINE_BYTES is parsed after COMMIT instead, in a task: compute_later())
    write() opens      the transaction (the caller's session)
      lock_paths()     advisory locks on the paths and their folders
      <rules>          the service reads rows FOR UPDATE and decides (repositories)
      commit()         the ref row FOR UPDATE (the cluster's turn to write to Git), the tree and commit
                       objects on the catalog's head, the ref row moved to the new commit
      catalog updates  add_files / add_version / mark_moved / mark_deleted / mark_restored (file rows, versions)
      journal()        audit row + NOTIFY per change, one statement each
    write() closes     COMMIT: the change exists from here on
                       then the Git ref moves (forward only); a failure there is repaired by the sweep

Lock-only changes (check-out, renew, release, expiry) use write() without commit(). The database
transaction is the commit point (docs/design.md, "Commit protocol"): Git never names a commit the
catalog did not commit, and `git upload-pack` only serves the branch ref.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import journal
from app.core.config import Settings
from app.core.errors import Conflict, InsufficientStorage, StorageUnavailable
from app.journal.entry import Entry
from app.models import File, FileVersion, User
from app.nc import ProgramFacts
from app.repositories.files import FileRepository, VersionRepository
from app.repositories.folders import FolderRepository
from app.repositories.program_facts import VersionFactsRepository
from app.repositories.refs import VaultRefRepository
from app.services.paths import folder_sort_range, name_sort_key
from app.storage.git_store import (
    BlobInfo,
    CommitResult,
    GitStore,
    GitStoreError,
    Identity,
    StorageFull,
    TreeChange,
    TreeConflict,
    ref_name,
)
from app.vault.program_facts import compute_facts, compute_later, deferred

logger = logging.getLogger(__name__)

MAIN = ref_name("main")
_MAX_SORT_KEY = chr(0x10FFFF)


def identity(user: User) -> Identity:
    return Identity(name=user.full_name or user.username, email=user.email or f"{user.username}@camvault.invalid")


# A rename or move (of a file or a folder): its commit says `Camvault-From: <old path>` and `Camvault-To: <new path>`.
MOVE_ACTION = "move"


def commit_message(
    summary: str, action: str, user: User, body: str = "", trailers: Mapping[str, str] | None = None
) -> str:
    """A readable subject plus trailers from which `camvault reindex` rebuilds the catalog.

    Trailer values are single lines: paths are (no control characters, no outer whitespace).
    """
    text = summary if not body.strip() else f"{summary}\n\n{body.strip()}"
    extra = "".join(f"Camvault-{key}: {value}\n" for key, value in (trailers or {}).items())
    return f"{text}\n\nCamvault-Action: {action}\nCamvault-User: {user.username}\n{extra}"


class Vault:
    """The pipeline for one session (one request, one CLI command, one sweep)."""

    def __init__(self, session: AsyncSession, store: GitStore, settings: Settings) -> None:
        self.session = session
        self.store = store
        self.settings = settings

    async def stage(self, sources: Sequence[Path]) -> list[BlobInfo]:
        """Write the files' blobs, outside any transaction: the one time their content is hashed."""
        try:
            return await self.store.writes.write_blobs(sources)
        except StorageFull:
            logger.error("git blob write failed: disk full")
            raise InsufficientStorage() from None
        except GitStoreError:
            logger.exception("git blob write failed")
            raise StorageUnavailable() from None

    async def stage_with_facts(
        self, paths: Sequence[str], sources: Sequence[Path]
    ) -> tuple[list[BlobInfo], dict[str, ProgramFacts]]:
        """`stage`, and the program facts of the NC programs among the files ({vault path: facts}), computed once
        here: in a worker thread while Git hashes, before any transaction (no database connection is held)."""
        parsing = asyncio.ensure_future(compute_facts(paths, sources, self.settings))
        try:
            blobs = await self.stage(sources)
        finally:
            facts = await parsing  # never raises: a failed parse is a version without facts
        return blobs, facts

    async def existing_blob(self, sha: str) -> BlobInfo:
        return (await self.existing_blobs([sha]))[sha]

    async def existing_blobs(self, shas: Sequence[str]) -> dict[str, BlobInfo]:
        """Blobs the vault holds already (a restore, a release); 503 when one is missing."""
        found = await self.store.writes.existing_blobs(shas)
        for sha in shas:
            if sha not in found:
                logger.error("git blob missing sha=%s", sha)
                raise StorageUnavailable("The vault no longer holds this content; run `camvault doctor`.")
        return found

    @asynccontextmanager
    async def write(self) -> AsyncIterator[VaultWrite]:
        """One vault change: the caller's transaction, committed when the block ends, then the refs move.

        A domain error inside leaves the transaction to the caller's session (nothing was committed).
        """
        w = VaultWrite(self)
        yield w
        await self._pause("before_commit")
        await self.session.commit()
        await self._pause("before_ref_move")
        for ref, sha in w.ref_moves.items():
            try:
                await self.store.writes.move_ref(ref, sha)
            except GitStoreError as exc:
                # Committed: the change exists. The ref catches up at the next sweep or start-up.
                logger.warning("git ref not moved yet ref=%s sha=%s error=%s", ref, sha, exc)
        if w.facts_later:
            # Committed: the large programs' facts are parsed now, from Git, without holding the answer.
            engine = self.session.bind
            if isinstance(engine, AsyncEngine):
                compute_later(engine, self.store, self.settings, w.facts_later)
            else:  # a session on one connection (none of ours): the sweep's backstop computes them
                logger.warning("program facts left to the backstop versions=%s", w.facts_later)

    async def _pause(self, point: str) -> None:
        """Test hook (ENV=test only): stop here for ever, so a test can kill the worker at this point."""
        if self.settings.env != "test" or self.settings.test_write_pause != point:
            return
        marker = self.settings.data_dir / f"paused-{point}"
        marker.write_text("paused\n")
        logger.warning("test hook: write paused at %s", point)
        await asyncio.Event().wait()  # never set: the test kills this process


class VaultWrite:
    """What a service may do inside one vault write (see the module docstring for the order)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.session = vault.session
        self.files = FileRepository(vault.session)
        self.versions = VersionRepository(vault.session)
        self.refs = VaultRefRepository(vault.session)
        self.ref_moves: dict[str, str] = {}
        self.facts_later: list[int] = []  # versions whose facts are computed once this write committed

    async def lock_paths(self, keys: Sequence[str]) -> None:
        """Serialise writers of these path keys, and of files where their folders are (one statement)."""
        await self.files.lock_paths(keys)

    async def refuse_clashes(self, paths: Sequence[str], keys: Sequence[str]) -> None:
        """409 when a path would be a folder of a live file, or a file where live files or a folder are (any case)."""
        folder = await FolderRepository(self.session).any_of(keys)
        if folder is not None:
            path = next(p for p, k in zip(paths, keys, strict=True) if k == folder.path_key)
            raise Conflict(f"{folder.path!r} is a folder in the vault; {path!r} cannot be a file")
        # A folder too long for its bounds to be said is bounded by everything (its probe reads every file).
        ranges = [folder_sort_range(k) or ("", _MAX_SORT_KEY) for k in keys]
        found = await self.files.clashing_any(keys, ranges)
        if found is None:
            return
        key, clash = found
        path = next(p for p, k in zip(paths, keys, strict=True) if k == key)
        if clash.path_key.startswith(key + "/"):
            raise Conflict(f"{path!r} is a folder in the vault (it holds {clash.path!r}); it cannot be a file")
        raise Conflict(f"{clash.path!r} is a file in the vault; {path!r} cannot be inside it")

    async def commit(
        self, changes: Sequence[TreeChange], *, author: User, message: str, ref: str = MAIN
    ) -> CommitResult:
        """Write the commit for `changes` on the catalog's head of `ref` and make it the catalog's head.

        Takes the ref row's lock until the transaction ends, so keep what follows short (rows and journal).
        One commit per ref per write; several refs are locked in the order they are committed to.
        """
        if ref in self.ref_moves:
            raise ValueError(f"{ref} already has a commit in this write")
        head = await self._lock_ref(ref)
        store = self.vault.store
        try:
            result = await store.writes.commit(head, changes, author=identity(author), message=message)
        except TreeConflict as exc:
            raise Conflict(f"{exc} (path {exc.path!r})") from None
        except StorageFull:
            logger.error("git commit failed: disk full")
            raise InsufficientStorage() from None
        except GitStoreError:
            logger.exception("git commit failed user=%s paths=%s", author.username, [c.path for c in changes][:5])
            raise StorageUnavailable() from None
        await self.refs.move(ref, result.commit_sha)
        self.ref_moves[ref] = result.commit_sha
        logger.info("commit sha=%s parent=%s ref=%s paths=%d", result.commit_sha, head, ref, len(changes))
        return result

    async def _lock_ref(self, ref: str) -> str | None:
        row = await self.refs.lock(ref)
        if row is None:
            # First write since the upgrade: the catalog adopts the Git ref as it is.
            await self.refs.adopt(ref, await self.vault.store.reads.ref(ref))
            row = await self.refs.lock(ref)
            assert row is not None
        return row.commit_sha

    async def journal(self, entry: journal.Entry, *, actor: User | None) -> None:
        await journal.append(self.session, entry, actor=actor)

    async def journal_many(self, entries: Sequence[Entry], *, actor: User | None) -> None:
        """Several entries in one statement where they allow it (app/journal/entry.py append_many)."""
        await journal.append_many(self.session, entries, actor=actor)

    # ----- catalog rows for a commit ------------------------------------------------------------------

    async def add_files(
        self,
        commit: CommitResult,
        paths: Sequence[str],
        keys: Sequence[str],
        *,
        author: User,
        message: str,
        facts: Mapping[str, ProgramFacts] | None = None,
    ) -> list[File]:
        at = commit.committed_at
        created = []
        for path, key in zip(paths, keys, strict=True):
            blob = commit.blobs[path]
            file = File(
                path=path,
                path_key=key,
                sort_key=name_sort_key(key),
                size=blob.size,
                blob_sha=blob.sha,
                head_commit=commit.commit_sha,
                version=1,
                created_by=author.id,
                updated_by=author.id,
                created_at=at,
                updated_at=at,
            )
            self.session.add(file)
            created.append(file)
        await self.session.flush()  # one INSERT .. RETURNING for all the files
        versions = [self._version(f, commit, f.path, author, message) for f in created]
        self.session.add_all(versions)
        await self.session.flush()
        await self._add_facts([(v, (facts or {}).get(v.path)) for v in versions])
        return created

    async def _add_facts(self, versions: Sequence[tuple[FileVersion, ProgramFacts | None]]) -> None:
        """The versions' program facts (computed by `stage_with_facts`), in this write's transaction; a large
        program's are computed once it committed."""
        repository = VersionFactsRepository(self.session)
        added = False
        for version, facts in versions:
            if facts is not None:
                repository.add(version.id, facts.model_dump(mode="json"))
                added = True
            elif deferred(version.path, version.size, self.vault.settings):
                self.facts_later.append(version.id)
        if added:
            await self.session.flush()

    async def add_version(
        self, file: File, commit: CommitResult, *, author: User, message: str, facts: ProgramFacts | None = None
    ) -> FileVersion:
        file.version += 1
        version = self._version(file, commit, file.path, author, message)
        self.session.add(version)
        blob = commit.blobs[file.path]
        file.blob_sha, file.size, file.head_commit = blob.sha, blob.size, commit.commit_sha
        file.updated_at, file.updated_by = commit.committed_at, author.id
        cooldown = self.vault.settings.edit_cooldown_seconds
        if cooldown > 0:
            # From the real clock, not the commit's whole second: the cooldown is never cut short.
            file.cooldown_until = datetime.now(UTC) + timedelta(seconds=cooldown)
            file.cooldown_user_id = author.id
        await self.session.flush()
        await self._add_facts([(version, facts)])
        return version

    def mark_moved(self, file: File, path: str, key: str, commit: CommitResult, *, by: User) -> None:
        """The file is at `path` from this commit on; its id, versions (each with the path it had) and lock stay."""
        file.path, file.path_key, file.sort_key = path, key, name_sort_key(key)
        file.head_commit, file.updated_at, file.updated_by = commit.commit_sha, commit.committed_at, by.id

    def mark_deleted(self, file: File, commit: CommitResult, *, by: User) -> None:
        file.deleted_at, file.deleted_by, file.head_commit = commit.committed_at, by.id, commit.commit_sha

    def mark_restored(self, file: File, commit: CommitResult, *, by: User) -> None:
        file.deleted_at = file.deleted_by = None
        file.head_commit, file.updated_at, file.updated_by = commit.commit_sha, commit.committed_at, by.id

    @staticmethod
    def _version(file: File, commit: CommitResult, path: str, author: User, message: str) -> FileVersion:
        blob = commit.blobs[path]
        return FileVersion(
            file_id=file.id,
            version=file.version,
            path=path,
            commit_sha=commit.commit_sha,
            blob_sha=blob.sha,
            size=blob.size,
            author_id=author.id,
            author_name=author.username,
            message=message,
            created_at=commit.committed_at,
        )
