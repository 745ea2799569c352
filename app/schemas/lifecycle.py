from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Text
from app.schemas.file import FileOut


class TransitionIn(BaseModel):
    """A comment for a lifecycle action: optional for submit, approve and reinstate; required for reject and
    obsolete (422 without one)."""

    model_config = ConfigDict(extra="forbid")

    comment: Text = Field(default="", max_length=4000)


class RevisionOut(BaseModel):
    label: str
    version: int
    size: int
    blob_sha: str
    commit: str = Field(description="The commit on the `released` branch that released it")
    action: Literal["release", "adopt"] = Field(description="Through a review, or `camvault release-all`")
    released_at: datetime
    released_by: str
    approved_by: list[str]
    current: bool = Field(description="The revision the floor gets now (false once superseded, or while obsolete)")


class RevisionList(BaseModel):
    path: str
    items: list[RevisionOut] = Field(description="Newest first")


class ApprovalOut(BaseModel):
    user: str
    at: datetime
    comment: str


class BaseRevision(BaseModel):
    """The revision a review's version would replace: diff from its version to the review's."""

    label: str
    version: int


class ReviewOut(BaseModel):
    id: int
    file_id: int
    path: str
    version: int
    status: Literal["open", "approved", "rejected", "withdrawn"]
    submitted_by: str
    submitted_at: datetime
    comment: str
    approvals: list[ApprovalOut]
    approvals_required: int
    closed_at: datetime | None
    closed_by: str | None
    close_comment: str
    revision: str | None = Field(description="What it was released as (approved reviews)")
    base: BaseRevision | None = Field(description="The file's current revision; null for a first release")
    can_approve: bool = Field(description="You may approve or reject it now")


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None


class TransitionOut(BaseModel):
    """The file as the transition left it, and the review it concerned (null for obsolete and reinstate)."""

    file: FileOut
    review: ReviewOut | None = None
    released: str | None = Field(default=None, description="The revision label, when this action released it")


class AdoptionOut(BaseModel):
    folder: str
    revision: str | None
    released: int
    skipped: dict[str, int]
    commit: str | None


class LifecyclePolicy(BaseModel):
    """The installation's lifecycle settings, and what they mean for you (the UI shows only what you may do)."""

    revision_scheme: Literal["letters", "numeric"]
    release_approvals: int
    allow_self_approval: bool
    sees_work: bool = Field(description="False: you are on the shop floor's view (released revisions only)")
    can_approve: bool = Field(description="You may approve, reject and obsolete")
