"""Path and query parameters used by several routers, with the bounds the database can hold."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from app.schemas.common import INT32_MAX, no_nul

FileId = Annotated[int, Path(ge=1, le=INT32_MAX, description="File id")]
UserId = Annotated[int, Path(ge=1, le=INT32_MAX, description="User id")]
OptionalVersion = Annotated[int | None, Query(ge=1, le=INT32_MAX)]
OptionalRevision = Annotated[
    str | None, Query(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9]+$", description="A revision label: A, B, …")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=2400, description="`next_cursor` of the previous page")]


# Add to a free-text query parameter: PostgreSQL text cannot hold NUL.
NoNul = AfterValidator(no_nul)
