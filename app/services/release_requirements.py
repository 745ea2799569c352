"""What a file must have before it may be released: its data card's required-for-release fields.

Submit (and `camvault release-all`) ask `missing_for_release` inside their write transaction, with the file's
row locked; a non-empty answer refuses the submit with 422 naming the fields. A value inherited from a folder
card counts; a field that does not apply to the file (its extensions or folders) is not asked for.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import File
from app.repositories.cards import CardFieldRepository, CardValueRepository, LinkRepository
from app.services.card_types import applies


async def missing_for_release(session: AsyncSession, file: File) -> list[str]:
    """The keys of the required fields `file` still lacks for a release (none: it may be released)."""
    required = [f for f in await CardFieldRepository(session).listed() if f.required_for_release]
    if not required:
        return []
    present = {v.field_id for v in await CardValueRepository(session).of_file(file.id)}
    return [f.key for f in required if f.id not in present and applies(f, file.path_key)]


async def released_users(session: AsyncSession, file: File) -> list[str]:
    """The paths of files on the floor (released, not obsolete) that use `file`: it may not be made obsolete
    while they do (the floor would run a program whose setup sheet or fixture is withdrawn)."""
    return [user.path for user in await LinkRepository(session).released_users(file.id)]
