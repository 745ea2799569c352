"""The release lifecycle: submit, approve, reject, obsolete, reinstate; revisions; reviews."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query

from app.api.deps import LifecycleServiceDep, ReaderUser
from app.api.params import Cursor, FileId, Limit
from app.api.responses import errors
from app.schemas.lifecycle import LifecyclePolicy, ReviewPage, RevisionList, TransitionIn, TransitionOut

router = APIRouter(tags=["lifecycle"], responses=errors(401, 403))

Comment = Annotated[TransitionIn | None, Body(description='`{"comment": "…"}`; may be left out where optional')]


def _comment(body: TransitionIn | None) -> str:
    return body.comment if body is not None else ""


@router.get("/lifecycle", response_model=LifecyclePolicy)
async def policy(user: ReaderUser, lifecycle: LifecycleServiceDep) -> LifecyclePolicy:
    """The lifecycle settings (REVISION_SCHEME, RELEASE_APPROVALS, ALLOW_SELF_APPROVAL) and what you may do."""
    return lifecycle.policy(user)


@router.post("/files/{file_id}/submit", response_model=TransitionOut, responses=errors(404, 409, 422))
async def submit(
    file_id: FileId, user: ReaderUser, lifecycle: LifecycleServiceDep, body: Comment = None
) -> TransitionOut:
    """Submit the head version for review (users and admins; comment optional): `wip` → `in_review`. Until it is
    approved or rejected the file cannot be checked out (409 naming the review). 409 while checked out."""
    return await lifecycle.submit(file_id, user, _comment(body))


@router.post("/files/{file_id}/approve", response_model=TransitionOut, responses=errors(404, 409))
async def approve(
    file_id: FileId, user: ReaderUser, lifecycle: LifecycleServiceDep, body: Comment = None
) -> TransitionOut:
    """Approve the version in review (approvers; comment optional). With RELEASE_APPROVALS distinct approvals it
    becomes the next revision (`released` names its label). The submitter may not approve their own submission
    unless ALLOW_SELF_APPROVAL=true (403)."""
    return await lifecycle.approve(file_id, user, _comment(body))


@router.post("/files/{file_id}/reject", response_model=TransitionOut, responses=errors(404, 409, 422))
async def reject(
    file_id: FileId, user: ReaderUser, lifecycle: LifecycleServiceDep, body: Comment = None
) -> TransitionOut:
    """Reject the version in review (approvers; comment required, 422 without): back to `wip`."""
    return await lifecycle.reject(file_id, user, _comment(body))


@router.post("/files/{file_id}/obsolete", response_model=TransitionOut, responses=errors(404, 409, 422))
async def obsolete(
    file_id: FileId, user: ReaderUser, lifecycle: LifecycleServiceDep, body: Comment = None
) -> TransitionOut:
    """Withdraw a released file from the floor (approvers and admins; comment required): no check-out, no new
    versions, gone from the `released` branch and from viewers' lists."""
    return await lifecycle.obsolete(file_id, user, _comment(body))


@router.post("/files/{file_id}/reinstate", response_model=TransitionOut, responses=errors(404, 409))
async def reinstate(
    file_id: FileId, user: ReaderUser, lifecycle: LifecycleServiceDep, body: Comment = None
) -> TransitionOut:
    """Bring an obsolete file back to the floor at its last revision (admins; comment optional)."""
    return await lifecycle.reinstate(file_id, user, _comment(body))


@router.get("/files/{file_id}/revisions", response_model=RevisionList, responses=errors(404))
async def revisions(file_id: FileId, user: ReaderUser, lifecycle: LifecycleServiceDep) -> RevisionList:
    """The file's revisions, newest first: label, version, who released and approved it, and which is current."""
    return await lifecycle.revisions_of(file_id, user)


@router.get("/reviews", response_model=ReviewPage, responses=errors(400))
async def reviews(
    user: ReaderUser,
    lifecycle: LifecycleServiceDep,
    scope: Annotated[
        Literal["awaiting", "submitted", "open"],
        Query(description="`awaiting`: open reviews you may approve; `submitted`: yours, any status; `open`: all open"),
    ] = "awaiting",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ReviewPage:
    """Reviews newest first, each with its approvals and (open ones) the current revision to diff against."""
    return await lifecycle.reviews_page(user, scope, cursor=cursor, limit=limit)
