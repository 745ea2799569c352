"""Field types shared by request schemas and query parameters."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

# PostgreSQL integer columns: a larger id or version cannot exist, and asyncpg cannot even send it.
INT32_MAX = 2**31 - 1


def no_nul(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL; refuse it at the edge, before anything (Git included) is written."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(no_nul)]
