"""The shape of every error answer, for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LockHeldDetail(BaseModel):
    message: str
    holder: str
    since: datetime
    until: datetime | None


class ErrorOut(BaseModel):
    detail: str | LockHeldDetail = Field(
        description="What went wrong; for a file checked out by someone else, who holds it since when and until when"
    )
    file: str | None = Field(
        default=None, description="Uploads: the name (as sent) of the file that caused the refusal, when one did"
    )
