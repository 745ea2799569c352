from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Text
from app.schemas.file import FileOut, LockInfo, Notice


class CheckOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text = Field(default="", max_length=1000, description="Why you are checking the file out")


class CheckOutOut(BaseModel):
    file: FileOut
    lock: LockInfo
    head_version: int


class CheckInOut(BaseModel):
    file: FileOut
    new_version: bool = Field(description="False when the content was identical to the head (no version made)")
    head_version: int
    kept_lock: bool
    message: str
    warnings: list[Notice] = Field(default_factory=list)


class LockOut(BaseModel):
    file_id: int
    path: str
    holder: str
    holder_id: int
    message: str
    since: datetime
    until: datetime | None


class LockChangeOut(BaseModel):
    """A renew, release or force-release: the file as it is now (its `lock` is null once released) and the
    lock the action renewed or ended."""

    file: FileOut
    lock: LockOut


class ReleasedLocks(BaseModel):
    released: list[LockOut]
