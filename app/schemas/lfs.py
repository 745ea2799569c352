"""Bodies of the Git LFS File Locking API (git-lfs docs/api/locking.md). Unknown fields are ignored, as
the API says clients may add properties."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas.common import Text


class LfsRef(BaseModel):
    name: Text = Field(max_length=1024)


class LfsOwner(BaseModel):
    name: str


class LfsLock(BaseModel):
    id: str = Field(description="camvault's file id: a file has at most one lock")
    path: str
    locked_at: datetime
    owner: LfsOwner


class LfsLockCreate(BaseModel):
    path: Text = Field(min_length=1, max_length=4096)
    ref: LfsRef | None = None


class LfsLockOut(BaseModel):
    lock: LfsLock


class LfsLockConflict(BaseModel):
    lock: LfsLock | None = None
    message: str


class LfsLockList(BaseModel):
    locks: list[LfsLock]
    next_cursor: str | None = None


class LfsVerifyIn(BaseModel):
    cursor: Text | None = Field(default=None, max_length=2400)
    limit: int | None = Field(default=None, ge=1)
    ref: LfsRef | None = None


class LfsVerifyOut(BaseModel):
    ours: list[LfsLock]
    theirs: list[LfsLock]
    next_cursor: str | None = None


class LfsUnlockIn(BaseModel):
    force: bool = False
    ref: LfsRef | None = None


class LfsError(BaseModel):
    message: str
    request_id: str | None = None
