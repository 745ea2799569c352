"""Catalog reads for `camvault doctor`: every live path, every version's commit, locks of deactivated users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import File, FileVersion, Lock, User


async def live_paths(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(select(File.id, File.path).where(File.deleted_at.is_(None)).order_by(File.path))
    return [(file_id, path) for file_id, path in rows]


async def version_commits(session: AsyncSession) -> list[tuple[str, int, str, str]]:
    """(path made at, version, commit sha, blob sha) of every version the catalog holds, deleted files' included."""
    rows = await session.execute(
        select(FileVersion.path, FileVersion.version, FileVersion.commit_sha, FileVersion.blob_sha).order_by(
            FileVersion.path, FileVersion.version
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def locks_of_inactive_users(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(path, username, user id) of each lock whose holder is deactivated."""
    rows = await session.execute(
        select(File.path, User.username, User.id)
        .join(Lock, Lock.file_id == File.id)
        .join(User, User.id == Lock.user_id)
        .where(User.is_active.is_(False))
        .order_by(User.username, File.path)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
