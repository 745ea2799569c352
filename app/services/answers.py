"""Answers built from rows the request's own transaction read or wrote (never re-read after the commit)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.models import File, FileVersion, Lock
from app.repositories.files import FileRow
from app.schemas.file import FileOut, LockInfo, VersionOut
from app.schemas.lock import LockOut


def file_out(row: FileRow) -> FileOut:
    f = row.file
    lock = None
    if row.lock is not None and row.holder is not None:
        lock = LockInfo(
            holder=row.holder,
            holder_id=row.lock.user_id,
            message=row.lock.message,
            since=row.lock.acquired_at,
            until=row.lock.expires_at,
        )
    cooldown = f.cooldown_until if f.cooldown_until and f.cooldown_until > datetime.now(UTC) else None
    return FileOut(
        id=f.id,
        path=f.path,
        sort_key=f.sort_key,
        size=f.size,
        version=f.version,
        blob_sha=f.blob_sha,
        head_commit=f.head_commit,
        created_at=f.created_at,
        created_by=row.created_by,
        updated_at=f.updated_at,
        updated_by=row.updated_by,
        deleted_at=f.deleted_at,
        deleted_by=row.deleted_by,
        lock=lock,
        cooldown_until=cooldown,
        cooldown_user_id=f.cooldown_user_id if cooldown else None,
    )


def lock_out(lock: Lock, file: File, holder: str) -> LockOut:
    return LockOut(
        file_id=file.id,
        path=file.path,
        holder=holder,
        holder_id=lock.user_id,
        message=lock.message,
        since=lock.acquired_at,
        until=lock.expires_at,
    )


def version_out(v: FileVersion) -> VersionOut:
    return VersionOut(
        version=v.version,
        path=v.path,
        commit=v.commit_sha,
        blob_sha=v.blob_sha,
        size=v.size,
        author=v.author_name,
        message=v.message,
        created_at=v.created_at,
    )
