"""`camvault reindex`: rebuild the catalog (files, file_versions, file_revisions, states) from the Git history,
then compute the program facts versions lack (FactsReindex).

Git is the source of truth for content. Each camvault commit carries trailers naming the
action and the user (and, for a rename or move, the old and new path), so replaying the
first-parent history of `main` gives back every file, version (with the path it was made at), rename,
move, deletion and restore, and replaying `released` (app/vault/released.py) every revision with who
released and approved it, and whether each file is released or obsolete. Rows already in the catalog are
kept and completed, never duplicated: running it twice changes nothing the second time. Open reviews are
the database's (a file with one stays `in_review`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.config import Settings
from app.journal.vault import VaultReindexed
from app.models import File, FileRevision, FileState, FileVersion, User
from app.nc import ProgramFacts
from app.repositories.files import every_file, find_by_origin, version_commits, versions_made_by
from app.repositories.lifecycle import ReviewRepository, RevisionRepository
from app.repositories.program_facts import VersionFactsRepository, VersionToParse
from app.repositories.refs import VaultRefRepository
from app.repositories.users import UserRepository
from app.services.lifecycle import state_with_revision
from app.services.paths import is_inside, moved_path, name_sort_key, path_key
from app.services.revision_labels import seq_of_any
from app.storage.git_store import CommitInfo, GitStore
from app.vault.pipeline import MAIN, MOVE_ACTION
from app.vault.program_facts import IN_MEMORY_BYTES, facts_of_version
from app.vault.released import ACTIONS, RELEASED, parse_released

logger = logging.getLogger(__name__)


@dataclass
class _Version:
    number: int
    path: str
    commit: str
    blob: str
    size: int
    author: str
    message: str
    at: datetime


@dataclass
class _File:
    path: str
    versions: list[_Version] = field(default_factory=list)
    head_commit: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""
    deleted_at: datetime | None = None
    deleted_by: str | None = None


@dataclass
class ReindexReport:
    commits: int = 0
    files_added: int = 0
    files_updated: int = 0
    versions_added: int = 0
    versions_skipped: int = 0  # commits on the branch the catalog never committed, before ones it did
    revisions_added: int = 0
    states_updated: int = 0  # files whose state or current revision the released branch corrected


def trailers(message: str) -> tuple[str, dict[str, str]]:
    """(user message, {trailer: value}) from a camvault commit message."""
    lines = message.rstrip("\n").split("\n")
    found: dict[str, str] = {}
    while lines and ":" in lines[-1] and lines[-1].startswith("Camvault-"):
        key, value = lines.pop().split(":", 1)
        found[key] = value.strip()
    body = "\n".join(lines[1:]).strip()  # drop the subject line
    return body, found


def _move(commit: CommitInfo, found: dict[str, str], live: dict[str, _File], who: str) -> None:
    """A rename or move (`Camvault-From`, `Camvault-To`: a file's paths, or a folder's): every live file at or
    under the old path goes to its new path, keeping its versions. The commit's additions are those same
    files at their new paths, so they add nothing."""
    old, new = found.get("Camvault-From", ""), found.get("Camvault-To", "")
    old_key = path_key(old)
    moving = [live.pop(k) for k in [k for k in live if is_inside(k, old_key)]]
    for moved in moving:
        target = new if path_key(moved.path) == old_key else moved_path(moved.path, old, new)
        if target != moved.path:  # (a change of case of a folder leaves some of its files as they were)
            moved.path = target
            moved.head_commit, moved.updated_at, moved.updated_by = commit.sha, commit.authored_at, who
        live[path_key(moved.path)] = moved


def replay(commits: list[CommitInfo]) -> list[_File]:
    live: dict[str, _File] = {}
    deleted: dict[str, _File] = {}
    everything: list[_File] = []
    for commit in commits:
        message, found = trailers(commit.message)
        action = found.get("Camvault-Action")
        who = found.get("Camvault-User") or commit.author_name
        if action == MOVE_ACTION:
            _move(commit, found, live, who)
            continue
        for change in commit.changes:
            key = path_key(change.path)
            if change.status == "D":
                gone = live.pop(key, None)
                if gone is not None:
                    gone.deleted_at, gone.deleted_by, gone.head_commit = commit.authored_at, who, commit.sha
                    deleted[key] = gone
                continue
            assert change.blob is not None
            current = live.get(key)
            if current is None and action == "restore" and key in deleted:
                current = live[key] = deleted.pop(key)
                current.deleted_at = current.deleted_by = None
                current.head_commit, current.updated_at, current.updated_by = commit.sha, commit.authored_at, who
                continue
            if current is None:
                current = live[key] = _File(path=change.path)
                everything.append(current)
            current.versions.append(
                _Version(
                    len(current.versions) + 1,
                    change.path,
                    commit.sha,
                    change.blob.sha,
                    change.blob.size,
                    who,
                    message,
                    commit.authored_at,
                )
            )
            current.head_commit, current.updated_at, current.updated_by = commit.sha, commit.authored_at, who
    return everything


class ReindexService:
    def __init__(self, session: AsyncSession, store: GitStore) -> None:
        self.session = session
        self.store = store
        self.users = UserRepository(session)
        self.refs = VaultRefRepository(session)
        self.revisions = RevisionRepository(session)
        self.reviews = ReviewRepository(session)
        self._user_ids: dict[str, int | None] = {}

    async def _user_id(self, name: str | None) -> int | None:
        if name is None:
            return None
        if name not in self._user_ids:
            found: User | None = await self.users.get_by_username(name)
            self._user_ids[name] = found.id if found else None
        return self._user_ids[name]

    async def _history_to_adopt(self, ref: str) -> str | None:
        """The Git head whose history the catalog takes: Git's, once it is on the catalog's history.

        Holding the ref row's lock (no write commits meanwhile): a Git ref behind the catalog's commit (a crash
        before its move) or off its history is first moved to it; a Git ref ahead of it (commits made between a
        backup's dump and its bundle, or by an older release) is what reindex adopts.
        """
        row = await self.refs.lock(ref)
        git = await self.store.reads.ref(ref)
        catalog = row.commit_sha if row is not None else None
        if catalog is not None and catalog != git and not (git and await self.store.reads.is_ancestor(catalog, git)):
            await self.store.writes.set_ref(ref, catalog)
            logger.warning("reindex moved git ref=%s from=%s to the catalog's commit %s", ref, git, catalog)
            git = catalog
        return git

    async def _adopt(self, ref: str, head: str | None) -> None:
        if await self.refs.lock(ref) is None:
            if head is not None or ref == MAIN:
                await self.refs.adopt(ref, head)
        elif head is not None:
            await self.refs.move(ref, head)

    async def run(self) -> ReindexReport:
        head = await self._history_to_adopt(MAIN)
        commits = await self.store.history.commits(head)
        report = ReindexReport(commits=len(commits))
        user_id = self._user_id

        for replayed in replay(commits):
            first, last = replayed.versions[0], replayed.versions[-1]
            file = await find_by_origin(self.session, first.path, first.commit)
            known = await version_commits(self.session, file.id) if file is not None else {}
            # Never two versions from one commit, never a version before the catalog's latest: only the commits
            # after the last one the catalog knows are added (an older release could leave a commit on the branch
            # that its catalog never committed, in the middle of a file's history; it is skipped).
            known_at = [i for i, v in enumerate(replayed.versions) if v.commit in known]
            tail = replayed.versions[known_at[-1] + 1 :] if known_at else replayed.versions
            report.versions_skipped += len(replayed.versions) - len(tail) - len(known_at)
            number = max(known.values(), default=0)
            state = {
                "path": replayed.path,
                "path_key": path_key(replayed.path),
                "sort_key": name_sort_key(path_key(replayed.path)),
                "size": last.size,
                "blob_sha": last.blob,
                "head_commit": replayed.head_commit,
                "version": number + len(tail),
                "updated_at": replayed.updated_at,
                "updated_by": await user_id(replayed.updated_by),
                "deleted_at": replayed.deleted_at,
                "deleted_by": await user_id(replayed.deleted_by),
            }
            if file is None:
                file = File(
                    created_at=first.at,
                    created_by=await user_id(first.author),
                    **state,
                )
                self.session.add(file)
                await self.session.flush()
                report.files_added += 1
            elif any(getattr(file, k) != v for k, v in state.items()):
                for k, v in state.items():
                    setattr(file, k, v)
                report.files_updated += 1
            for v in tail:
                number += 1
                self.session.add(
                    FileVersion(
                        file_id=file.id,
                        version=number,
                        path=v.path,
                        commit_sha=v.commit,
                        blob_sha=v.blob,
                        size=v.size,
                        author_id=await user_id(v.author),
                        author_name=v.author,
                        message=v.message,
                        created_at=v.at,
                    )
                )
                report.versions_added += 1
            await self.session.flush()
        await self._adopt(MAIN, head)
        released = await self._history_to_adopt(RELEASED)
        await self._replay_released(released, report)
        await self._adopt(RELEASED, released)
        if (
            report.files_added
            or report.files_updated
            or report.versions_added
            or report.revisions_added
            or report.states_updated
        ):
            await journal.append(self.session, VaultReindexed(**asdict(report)), actor=None)
        await self.session.commit()
        logger.info("reindex %s", report)
        return report

    async def _replay_released(self, head: str | None, report: ReindexReport) -> None:
        """Revisions from the released branch's commits (their `Camvault-File` lines), then every file's state and
        current revision: obsolete after an obsolete, else released when its head is its revision, else wip; a file
        with an open review stays in review."""
        commits = await self.store.history.commits(head)
        known = await self.revisions.by_file_and_commit()
        latest: dict[int, tuple[str, FileRevision]] = {}  # file id -> (last action, its current revision)
        for commit in commits:
            trailers = parse_released(commit.message)
            if trailers.action not in ACTIONS:
                continue
            for named in trailers.files:
                made = await versions_made_by(self.session, named.source)
                found = made[0] if len(made) == 1 else next((fv for fv in made if fv[0].path == named.path), None)
                if found is None:
                    logger.warning("reindex: released commit %s names an unknown version of %s", commit.sha, named.path)
                    continue
                file, version = found
                revision = known.get((file.id, commit.sha))
                if trailers.action in ("release", "adopt"):
                    if revision is None:
                        revision = FileRevision(
                            file_id=file.id,
                            seq=seq_of_any(named.label),
                            label=named.label,
                            version=version.version,
                            blob_sha=version.blob_sha,
                            size=version.size,
                            commit_sha=commit.sha,
                            action=trailers.action,
                            released_at=commit.authored_at,
                            released_by=await self._user_id(trailers.user),
                            released_by_name=trailers.user or commit.author_name,
                            approved_by=trailers.approved_by,
                        )
                        self.session.add(revision)
                        await self.session.flush()
                        known[(file.id, commit.sha)] = revision
                        report.revisions_added += 1
                    latest[file.id] = (trailers.action, revision)
                elif file.id in latest:
                    latest[file.id] = (trailers.action, latest[file.id][1])
        in_review = await self.reviews.open_file_ids()
        for file in await every_file(self.session):
            if file.id in latest:
                action, revision = latest[file.id]
                wanted: int | None = revision.id
                obsolete = action == "obsolete"
                state = FileState.obsolete if obsolete else state_with_revision(file.version, revision.version)
            elif file.revision_id is not None:
                continue  # a revision the catalog has and Git does not (doctor reports it) is kept
            else:
                wanted, state = None, FileState.wip
            if file.id in in_review:
                state = FileState.in_review
            if file.state != state or file.revision_id != wanted:
                file.state, file.revision_id = state, wanted
                report.states_updated += 1
        await self.session.flush()


@dataclass
class FactsReport:
    computed: int = 0  # versions given facts (none before, or facts of an older parser)
    without: int = 0  # versions at an NC path that are not programs (binary content)


class FactsReindex:
    """`camvault reindex`, second part: program facts for every version of an NC program that lacks them (made
    before facts existed, by a run whose parser failed, or by an older parser: app.nc.FACTS_VERSION), the same
    function as an upload's (app/vault/program_facts.py). A batch of versions is read, then each is parsed with no
    transaction open, then the batch's facts are stored in one transaction; running it twice computes nothing the
    second time (except for versions that are not programs, which have no facts to store)."""

    BATCH = 100
    IN_MEMORY_BYTES = IN_MEMORY_BYTES  # larger contents are streamed to a temp file instead of read whole

    def __init__(self, session: AsyncSession, store: GitStore, settings: Settings) -> None:
        self.session = session
        self.store = store
        self.settings = settings
        self.facts = VersionFactsRepository(session)

    async def run(self) -> FactsReport:
        report = FactsReport()
        after = 0
        while True:
            batch = await self.facts.lacking(self.settings.nc_extensions, after=after, limit=self.BATCH)
            await self.session.commit()  # no transaction held while the batch is parsed
            if not batch:
                break
            found = [(version.id, await self._facts(version)) for version in batch]
            for version_id, facts in found:
                if facts is None:
                    report.without += 1
                else:
                    await self.facts.put(version_id, facts.model_dump(mode="json"))
                    report.computed += 1
            await self.session.commit()
            after = batch[-1].id
        logger.info("reindex facts %s", report)
        return report

    async def _facts(self, version: VersionToParse) -> ProgramFacts | None:
        return await facts_of_version(version, self.store, self.settings, in_memory_bytes=self.IN_MEMORY_BYTES)
