"""The shape of every error answer, for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


class MissingFieldsDetail(BaseModel):
    message: str
    fields: list[str]


class UnprocessableOut(BaseModel):
    detail: str | MissingFieldsDetail | list[dict[str, Any]] = Field(
        description="A rule the change breaks (a required comment; fields a release needs, named), or the request "
        "body's validation errors"
    )
