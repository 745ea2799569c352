from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.nc import ProgramFacts
from app.schemas.common import Text


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


class FactsSummary(BaseModel):
    """The listing's subset of a version's program facts (`?facts=true`)."""

    tools: int = Field(description="Tools the program uses")
    cycle_time_s: float = Field(description="Estimated cycle time, seconds")
    z_min: float | None = Field(description="Lowest Z it moves to, mm (null: it never sets Z)")


class FileOut(BaseModel):
    id: int
    path: str
    sort_key: str = Field(
        description="The file's place in the name order (natural, case-insensitive): compare these keys by code "
        "point to put a file where `sort=name` lists it"
    )
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
    cooldown_user_id: int | None = Field(
        default=None, description="Who may check the file out during the cooldown (its last editor)"
    )
    facts: ProgramFacts | None = Field(
        default=None,
        description="Program facts of the version shown (`version`), for an NC program (NC_EXTENSIONS): in "
        "`GET /api/files/{id}` and the answers of an upload or check-in; null for other files",
    )
    facts_summary: FactsSummary | None = Field(
        default=None, description="In the listing with `?facts=true`: tools, cycle time and Z min of `version`"
    )
    facts_pending: bool = Field(
        default=False,
        description="True while the server is still computing the facts of this version (an NC program over "
        "NC_FACTS_INLINE_BYTES gets them just after it is committed): `facts` is null for now, not for good",
    )


class Notice(BaseModel):
    """Something the client should tell its user although the request succeeded (an empty file, …)."""

    code: str = Field(description="`empty_file`: the file has 0 bytes, almost always a failed export")
    message: str
    file: str | None = Field(default=None, description="The file it is about, as the client named it")


class DownloadLink(BaseModel):
    url: str = Field(description="Path and query of the content, with its download token; relative to the server")
    expires_at: datetime


class FilePage(BaseModel):
    items: list[FileOut]
    next_cursor: str | None
    total: int | None = Field(
        default=None,
        description="Files matching the filters, all pages together: only with `count=true` (null otherwise)",
    )
    cards: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Data card values of the page's files: file id → field key → value (own or inherited)",
    )


class FolderOut(BaseModel):
    name: str
    path: str
    files: int = Field(description="Live files in this folder and below (0: an empty folder someone made)")
    empty: bool = Field(default=False, description="Holds no file and no folder: it can be deleted")


class FolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Text = Field(max_length=1024, description="The folder's path, e.g. `jobs/1042/fixtures`")


class FolderMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Text = Field(max_length=1024, description="The folder to rename or move")
    to: Text = Field(max_length=1024, description="Its new path, e.g. `archive/1042`")


class FolderMoveOut(BaseModel):
    folder: FolderOut
    old_path: str
    files: list[FileOut] = Field(description="Every file that moved, at its new path")
    commit: str | None = Field(description="The one commit of the move; null when the folder held no file")


class FileMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Text = Field(max_length=1024, description="The file's new path (a new name, another folder, or both)")


class FolderList(BaseModel):
    parent: str
    folders: list[FolderOut]


class UploadOut(BaseModel):
    files: list[FileOut]
    commit: str
    warnings: list[Notice] = Field(default_factory=list)


class VersionOut(BaseModel):
    version: int
    path: str = Field(description="Where the file was when this version was made (files keep history across moves)")
    commit: str
    blob_sha: str
    size: int
    author: str
    message: str
    created_at: datetime
    revision: str | None = Field(default=None, description="The revision label this version was released as")
    facts: ProgramFacts | None = Field(default=None, description="Its program facts (NC programs only)")
    facts_pending: bool = Field(default=False, description="As the file's `facts_pending`, for this version")


class HistoryPage(BaseModel):
    path: str
    items: list[VersionOut]
    next_cursor: str | None


class FileKind(BaseModel):
    version: int
    size: int
    text: bool = Field(description="Text (at most 4 MiB, UTF-8, no NUL): blame and line diffs are offered for it")


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
