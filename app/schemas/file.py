from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class LockInfo(BaseModel):
    holder: str
    holder_id: int
    message: str
    since: datetime
    until: datetime | None


class RevisionInfo(BaseModel):
    """The file's current revision: what the shop floor gets."""

    label: str = Field(description="A, B, … (or 1, 2, … with REVISION_SCHEME=numeric)")
    version: int
    released_at: datetime
    released_by: str
    next_label: str = Field(description='The label the next release gets ("released B, C in work")')


class ReviewInfo(BaseModel):
    """The open review of the file's head version."""

    id: int
    version: int
    submitted_by: str
    submitted_at: datetime
    approved_by: list[str]
    approvals_required: int


class FileOut(BaseModel):
    id: int
    path: str
    size: int
    version: int
    blob_sha: str
    head_commit: str
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    lock: LockInfo | None = None
    cooldown_until: datetime | None = None
    state: Literal["wip", "in_review", "released", "obsolete"] = Field(
        default="wip", description="Where the newest work stands; the floor's view shows `released`"
    )
    revision: RevisionInfo | None = Field(default=None, description="The current revision (the floor gets it)")
    review: ReviewInfo | None = None


class DownloadLink(BaseModel):
    url: str = Field(description="Path and query of the content, with its download token; relative to the server")
    expires_at: datetime


class FilePage(BaseModel):
    items: list[FileOut]
    next_cursor: str | None
    total: int = Field(description="Files matching the filters, all pages together")


class FolderOut(BaseModel):
    name: str
    path: str
    files: int = Field(description="Live files in this folder and below")


class FolderList(BaseModel):
    parent: str
    folders: list[FolderOut]


class UploadOut(BaseModel):
    files: list[FileOut]
    commit: str


class VersionOut(BaseModel):
    version: int
    commit: str
    blob_sha: str
    size: int
    author: str
    message: str
    created_at: datetime
    revision: str | None = Field(default=None, description="The revision label this version was released as")


class HistoryPage(BaseModel):
    path: str
    items: list[VersionOut]
    next_cursor: str | None


class TextDiff(BaseModel):
    kind: Literal["text"] = "text"
    path: str
    from_version: int
    to_version: int
    diff: str = Field(description="Unified diff; empty when the two versions are identical")


class BinarySide(BaseModel):
    version: int
    size: int
    blob_sha: str


class BinaryDiff(BaseModel):
    kind: Literal["binary"] = "binary"
    path: str
    from_version: int
    to_version: int
    identical: bool
    sides: list[BinarySide]


class BlameLine(BaseModel):
    line: int
    version: int | None
    commit: str
    author: str
    date: datetime
    text: str


class BlameOut(BaseModel):
    path: str
    version: int
    lines: list[BlameLine]
