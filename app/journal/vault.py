"""Changes to files and their locks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from app.journal.entry import Entry


@dataclass(frozen=True, kw_only=True)
class FileUploaded(Entry):
    action = "file.uploaded"
    event = "file_uploaded"
    audit_only = frozenset({"commit"})
    file_id: int
    path: str
    user: str
    version: int = 1
    size: int
    commit: str
    new_file: bool = field(default=True, init=False)


@dataclass(frozen=True, kw_only=True)
class VersionAdded(FileUploaded):
    """A check-in with changed content: browsers get the same event as for an upload."""

    action = "file.version_added"
    new_file: bool = field(default=False, init=False)


@dataclass(frozen=True, kw_only=True)
class FileDeleted(Entry):
    action = "file.deleted"
    event = "file_deleted"
    subject_field = "released_lock_of"
    audit_only = frozenset({"commit", "forced", "released_lock_of"})
    file_id: int
    path: str
    user: str
    commit: str
    forced: bool
    released_lock_of: int | None


@dataclass(frozen=True, kw_only=True)
class FileRestored(Entry):
    action = "file.restored"
    event = "file_restored"
    audit_only = frozenset({"commit"})
    file_id: int
    path: str
    user: str
    version: int
    commit: str


@dataclass(frozen=True, kw_only=True)
class FileMoved(Entry):
    """A file was renamed or moved (alone, or with its folder: `folder` then names the folder's old path).

    The file keeps its id, versions and lock; `path` is where it is now.
    """

    action = "file.moved"
    event = "file_moved"
    audit_only = frozenset({"commit"})
    file_id: int
    path: str
    old_path: str
    user: str
    commit: str
    folder: str | None = None


@dataclass(frozen=True, kw_only=True)
class FolderCreated(Entry):
    """A folder was made (empty: it lives in the catalog until a file is put in it)."""

    action = "folder.created"
    event = "folder_created"
    path: str
    user: str


@dataclass(frozen=True, kw_only=True)
class FolderMoved(Entry):
    """A folder was renamed or moved with everything in it (one commit when it held files, else none)."""

    action = "folder.moved"
    event = "folder_moved"
    audit_only = frozenset({"commit"})
    path: str
    old_path: str
    user: str
    files: int
    commit: str | None


@dataclass(frozen=True, kw_only=True)
class FolderDeleted(Entry):
    """An empty folder was removed."""

    action = "folder.deleted"
    event = "folder_deleted"
    path: str
    user: str


@dataclass(frozen=True, kw_only=True)
class FileLocked(Entry):
    action = "lock.checkout"
    event = "file_locked"
    file_id: int
    path: str
    user: str
    message: str
    since: datetime
    until: datetime | None
    version: int


@dataclass(frozen=True, kw_only=True)
class LockRenewed(FileLocked):
    action = "lock.renewed"
    renewed: bool = field(default=True, init=False)


@dataclass(frozen=True, kw_only=True)
class CheckedIn(Entry):
    """The holder checked in (with or without a new version). Keeping the lock sends no event."""

    action = "lock.checkin"
    event = "file_unlocked"
    file_id: int
    path: str
    user: str
    version: int
    new_version: bool
    kept_lock: bool
    message: str
    reason: str = field(default="checkin", init=False)

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in super().details().items() if k != "reason"}

    def payload(self) -> dict[str, Any] | None:
        if self.kept_lock:
            return None
        fields = ("file_id", "path", "user", "reason", "version")
        return {k: v for k, v in self.values().items() if k in fields}


@dataclass(frozen=True, kw_only=True)
class LockReleased(Entry):
    """Undo check-out: the holder gave the lock back without a new version."""

    action = "lock.released"
    event = "file_unlocked"
    audit_only = frozenset()
    file_id: int
    path: str
    user: str
    version: int
    reason: str = field(default="released", init=False)

    def details(self) -> dict[str, Any]:
        return {"file_id": self.file_id}


@dataclass(frozen=True, kw_only=True)
class LockForceReleased(Entry):
    """An admin took a lock away; `user` in the event is the former holder, `by` the admin."""

    action = "lock.force_released"
    event = "file_unlocked"
    subject_field = "holder_id"
    file_id: int
    path: str
    holder: str
    holder_id: int
    by: str
    message: str
    since: datetime
    version: int

    def details(self) -> dict[str, Any]:
        keys = ("file_id", "holder", "holder_id", "message", "since")
        return {k: v for k, v in self.values().items() if k in keys}

    def payload(self) -> dict[str, Any] | None:
        return {
            "file_id": self.file_id,
            "path": self.path,
            "user": self.holder,
            "reason": "force_released",
            "by": self.by,
            "version": self.version,
        }


@dataclass(frozen=True, kw_only=True)
class LockExpired(Entry):
    """A lock ran out: swept, or taken over by the next check-out. Nobody acted: the actor is "system"."""

    action = "lock.expired"
    event = "lock_expired"
    subject_field = "holder_id"
    file_id: int
    path: str
    holder: str
    holder_id: int
    expired_at: datetime | None
    version: int

    def details(self) -> dict[str, Any]:
        keys = ("file_id", "holder", "holder_id", "expired_at")
        return {k: v for k, v in self.values().items() if k in keys}

    def payload(self) -> dict[str, Any] | None:
        return {"file_id": self.file_id, "path": self.path, "user": self.holder, "version": self.version}


@dataclass(frozen=True, kw_only=True)
class VaultReindexed(Entry):
    """`camvault reindex` changed the catalog."""

    action = "vault.reindexed"
    target_field: ClassVar[str | None] = None
    commits: int
    files_added: int
    files_updated: int
    versions_added: int
    versions_skipped: int = 0
    revisions_added: int = 0
    states_updated: int = 0
