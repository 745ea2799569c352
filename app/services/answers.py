"""Answers built from rows the request's own transaction read or wrote (never re-read after the commit)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.models import File, FileRevision, FileState, FileVersion, Lock
from app.repositories.files import FileRow
from app.schemas.file import FileOut, LockInfo, ReviewInfo, RevisionInfo, VersionOut
from app.schemas.lock import LockOut
from app.services.revision_labels import label_for


def file_out(row: FileRow, *, floor: bool = False) -> FileOut:
    """The file as its reader may see it: everything, or (`floor`) its current revision as if nothing newer existed."""
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
    revision = revision_info(row.revision)
    named: dict[str, Any] = {
        "id": f.id,
        "path": f.path,
        "sort_key": f.sort_key,
        "created_at": f.created_at,
        "created_by": row.created_by,
        "lock": lock,
    }
    if floor:
        r = row.revision
        assert r is not None  # the floor's view only holds files with a revision
        return FileOut(
            **named,
            size=r.size,
            version=r.version,
            blob_sha=r.blob_sha,
            head_commit=r.commit_sha,
            updated_at=r.released_at,
            updated_by=r.released_by_name,
            state=FileState.released.value,
            revision=revision,
        )
    review = None
    if row.review is not None:
        review = ReviewInfo(
            id=row.review.id,
            version=row.review.version,
            submitted_by=row.review.submitted_by_name,
            submitted_at=row.review.submitted_at,
            approved_by=row.approved_by or [],
            approvals_required=row.review.approvals_required,
        )
    cooldown = f.cooldown_until if f.cooldown_until and f.cooldown_until > datetime.now(UTC) else None
    return FileOut(
        **named,
        size=f.size,
        version=f.version,
        blob_sha=f.blob_sha,
        head_commit=f.head_commit,
        updated_at=f.updated_at,
        updated_by=row.updated_by,
        deleted_at=f.deleted_at,
        deleted_by=row.deleted_by,
        cooldown_until=cooldown,
        cooldown_user_id=f.cooldown_user_id if cooldown else None,
        state=f.state,  # type: ignore[arg-type]  # the column's check constraint holds it to the four states
        revision=revision,
        review=review,
    )


def revision_info(r: FileRevision | None) -> RevisionInfo | None:
    if r is None:
        return None
    return RevisionInfo(
        label=r.label,
        version=r.version,
        released_at=r.released_at,
        released_by=r.released_by_name,
        next_label=label_for(r.seq + 1, "numeric" if r.label.isdigit() else "letters"),
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


def version_out(v: FileVersion, revision: str | None = None) -> VersionOut:
    return VersionOut(
        version=v.version,
        path=v.path,
        commit=v.commit_sha,
        blob_sha=v.blob_sha,
        size=v.size,
        author=v.author_name,
        message=v.message,
        created_at=v.created_at,
        revision=revision,
    )
