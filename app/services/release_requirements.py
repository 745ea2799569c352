"""What a file must have before it may be released: the seam for data cards' required-for-release fields.

Submit (and `camvault release-all`) ask `missing_for_release` inside their write transaction, with the file's
row locked; a non-empty answer refuses the submit with 422 naming the fields. Nothing is required yet: issue
22 (data cards) fills this in.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import File


async def missing_for_release(session: AsyncSession, file: File) -> list[str]:
    """The names of the fields `file` still lacks for a release (none: it may be released)."""
    return []
