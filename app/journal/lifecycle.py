"""Release lifecycle transitions: submit, approve, reject, release, obsolete, reinstate, adoption.

Events carry names and labels, never content or comments (comments are in the audit row): every socket gets
them, the shop floor's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.journal.entry import Entry


@dataclass(frozen=True, kw_only=True)
class FileSubmitted(Entry):
    action = "lifecycle.submitted"
    event = "file_submitted"
    audit_only = frozenset({"comment"})
    file_id: int
    path: str
    user: str
    version: int
    review_id: int
    comment: str


@dataclass(frozen=True, kw_only=True)
class ReviewApproved(Entry):
    """One approver's approval; `approvals` of `required` are in (the release, if this was the last, follows)."""

    action = "lifecycle.approved"
    event = "file_approved"
    audit_only = frozenset({"comment"})
    file_id: int
    path: str
    user: str
    version: int
    review_id: int
    approvals: int
    required: int
    comment: str


@dataclass(frozen=True, kw_only=True)
class ReviewRejected(Entry):
    action = "lifecycle.rejected"
    event = "file_rejected"
    subject_field = "submitter_id"
    audit_only = frozenset({"comment", "submitter_id"})
    file_id: int
    path: str
    user: str
    version: int
    review_id: int
    submitter: str
    submitter_id: int
    comment: str


@dataclass(frozen=True, kw_only=True)
class FileReleased(Entry):
    """A version became the file's next revision (enough approvals): the floor gets it from now on."""

    action = "lifecycle.released"
    event = "file_released"
    audit_only = frozenset({"commit"})
    file_id: int
    path: str
    user: str
    revision: str
    version: int
    approved_by: list[str]
    commit: str


@dataclass(frozen=True, kw_only=True)
class FileObsoleted(Entry):
    action = "lifecycle.obsoleted"
    event = "file_obsoleted"
    audit_only = frozenset({"comment", "commit"})
    file_id: int
    path: str
    user: str
    revision: str | None
    comment: str
    commit: str | None


@dataclass(frozen=True, kw_only=True)
class FileReinstated(Entry):
    action = "lifecycle.reinstated"
    event = "file_reinstated"
    audit_only = frozenset({"comment", "commit"})
    file_id: int
    path: str
    user: str
    revision: str | None
    state: str
    comment: str
    commit: str | None


@dataclass(frozen=True, kw_only=True)
class FilesAdopted(Entry):
    """`camvault release-all`: existing files released in one step (one audit row, one event: clients reload)."""

    action = "lifecycle.adopted"
    event = "files_adopted"
    target_field: ClassVar[str | None] = "folder"
    event_only = frozenset({"user"})
    audit_only = frozenset({"commit", "skipped"})
    folder: str
    user: str
    revision: str | None
    files: int
    skipped: dict[str, int]
    commit: str | None
