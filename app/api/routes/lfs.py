"""The Git LFS File Locking API (git-lfs docs/api/locking.md) over camvault's locks, at the URL the
git-lfs client derives from the clone URL: `/git/vault.git/info/lfs/locks`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status

from app.api.deps import GitUser, GitWriter, LfsLockServiceDep
from app.api.lfs import LfsResponse, LfsRoute
from app.api.params import NoNul
from app.schemas.lfs import (
    LfsError,
    LfsLockConflict,
    LfsLockCreate,
    LfsLockList,
    LfsLockOut,
    LfsUnlockIn,
    LfsVerifyIn,
    LfsVerifyOut,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": LfsError, "description": "No or wrong credentials (`WWW-Authenticate: Basic`)"},
    403: {"model": LfsError, "description": "Your role cannot lock, or the lock is someone else's"},
    404: {"model": LfsError, "description": "No such file in the vault, or no such lock"},
    422: {"model": LfsError, "description": "Malformed request"},
}

router = APIRouter(
    prefix="/git/vault.git/info/lfs",
    tags=["git"],
    route_class=LfsRoute,
    default_response_class=LfsResponse,
    responses=_ERRORS,
)


@router.post(
    "/locks",
    status_code=status.HTTP_201_CREATED,
    response_model=LfsLockOut,
    responses={409: {"model": LfsLockConflict, "description": "Locked already (the lock in the way), or cooldown"}},
)
async def create_lock(body: LfsLockCreate, user: GitWriter, lfs: LfsLockServiceDep) -> LfsLockOut:
    """`git lfs lock PATH`: a camvault check-out of the file at that vault path."""
    return LfsLockOut(lock=await lfs.create(body.path, user))


@router.get("/locks", response_model=LfsLockList)
async def list_locks(
    user: GitUser,
    lfs: LfsLockServiceDep,
    path: Annotated[str | None, Query(max_length=4096), NoNul] = None,
    id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=2400)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    refspec: Annotated[str | None, Query(max_length=1024)] = None,
) -> LfsLockList:
    """`git lfs locks`: every live lock (any role may list). `refspec` is accepted: the vault has one branch."""
    locks, next_cursor = await lfs.list(user, path=path, lock_id=id, cursor=cursor, limit=limit)
    return LfsLockList(locks=locks, next_cursor=next_cursor)


@router.post("/locks/verify", response_model=LfsVerifyOut)
async def verify_locks(body: LfsVerifyIn, user: GitWriter, lfs: LfsLockServiceDep) -> LfsVerifyOut:
    """Live locks split into the caller's (`ours`) and everyone else's (`theirs`)."""
    return await lfs.verify(user, cursor=body.cursor, limit=body.limit)


@router.post("/locks/{lock_id}/unlock", response_model=LfsLockOut)
async def unlock(
    lock_id: Annotated[str, Path(max_length=64)],
    user: GitWriter,
    lfs: LfsLockServiceDep,
    body: Annotated[LfsUnlockIn | None, Body()] = None,
) -> LfsLockOut:
    """`git lfs unlock`: the holder releases; `force` (admins only) force-releases someone else's lock."""
    return LfsLockOut(lock=await lfs.unlock(lock_id, user, force=bool(body and body.force)))
