"""`camvault reindex`: rebuild the catalog (files, file_versions) from the Git history.

Git is the source of truth for content. Each camvault commit carries trailers naming the
action and the user, so replaying the first-parent history gives back every file, version,
deletion and restore. Rows already in the catalog are kept and completed, never duplicated:
running it twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import File, FileVersion, User
from app.repositories.files import find_by_origin, version_numbers
from app.repositories.users import UserRepository
from app.services import audit
from app.services.paths import path_key
from app.storage.git_store import CommitInfo, GitStore

logger = logging.getLogger(__name__)


@dataclass
class _Version:
    number: int
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


def _trailers(message: str) -> tuple[str, str | None, str | None]:
    """(user message, action, username) from a camvault commit message."""
    lines = message.rstrip("\n").split("\n")
    found: dict[str, str] = {}
    while lines and ":" in lines[-1] and lines[-1].startswith("Camvault-"):
        key, value = lines.pop().split(":", 1)
        found[key] = value.strip()
    body = "\n".join(lines[1:]).strip()  # drop the subject line
    return body, found.get("Camvault-Action"), found.get("Camvault-User")


def replay(commits: list[CommitInfo]) -> list[_File]:
    live: dict[str, _File] = {}
    deleted: dict[str, _File] = {}
    everything: list[_File] = []
    for commit in commits:
        message, action, username = _trailers(commit.message)
        who = username or commit.author_name
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

    async def run(self) -> ReindexReport:
        commits = await self.store.commits()
        report = ReindexReport(commits=len(commits))
        user_ids: dict[str, int | None] = {}

        async def user_id(name: str | None) -> int | None:
            if name is None:
                return None
            if name not in user_ids:
                found: User | None = await self.users.get_by_username(name)
                user_ids[name] = found.id if found else None
            return user_ids[name]

        for replayed in replay(commits):
            first, last = replayed.versions[0], replayed.versions[-1]
            file = await find_by_origin(self.session, replayed.path, first.commit)
            state = {
                "size": last.size,
                "blob_sha": last.blob,
                "head_commit": replayed.head_commit,
                "version": last.number,
                "updated_at": replayed.updated_at,
                "updated_by": await user_id(replayed.updated_by),
                "deleted_at": replayed.deleted_at,
                "deleted_by": await user_id(replayed.deleted_by),
            }
            if file is None:
                file = File(
                    path=replayed.path,
                    path_key=path_key(replayed.path),
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
            have = await version_numbers(self.session, file.id)
            for v in replayed.versions:
                if v.number in have:
                    continue
                self.session.add(
                    FileVersion(
                        file_id=file.id,
                        version=v.number,
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
        if report.files_added or report.files_updated or report.versions_added:
            await audit.record(
                self.session, "vault.reindexed", actor=None, actor_name="system", target=None, details=report.__dict__
            )
        await self.session.commit()
        logger.info("reindex %s", report)
        return report
