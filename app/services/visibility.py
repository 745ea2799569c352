"""What a reader may see of the vault: everything, or the shop floor's view (released revisions only).

The one place the rule is applied to a file. Listings, search and folder counts filter with the same rule in
SQL (`floor_condition` in app/repositories/files.py, which `FileFilter.released_only` adds); every read of one
file (metadata, by path, content by version, commit, revision or download link, history, diff, blame,
revisions) goes through `require_visible`, and the floor's versions are its revisions (`require_released`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.config import Settings
from app.core.errors import NotFound
from app.models import FileState, User
from app.repositories.files import FileRow
from app.services import roles


@dataclass(frozen=True)
class View:
    floor: bool  # True: only current released revisions (never a WIP head, never an obsolete file)


EVERYTHING = View(floor=False)
FLOOR = View(floor=True)


def view_of(user: User, settings: Settings, *, released_only: bool = False) -> View:
    """The shop floor's view for viewers (unless VIEWERS_SEE_WORK=true), or for anyone who asks for it."""
    return FLOOR if released_only or not roles.sees_work(user, settings.viewers_see_work) else EVERYTHING


def on_floor(row: FileRow) -> bool:
    """The file has a current revision the floor may run."""
    return row.revision is not None and row.file.state != FileState.obsolete and row.file.deleted_at is None


def require_visible(row: FileRow | None, view: View, file_id: int, *, include_deleted: bool = False) -> FileRow:
    if row is None or (row.file.deleted_at is not None and not include_deleted):
        raise NotFound(f"File {file_id} not found")
    if view.floor and not on_floor(row):
        state = "is obsolete" if row.file.state == FileState.obsolete else "has no released revision"
        raise NotFound(f"File {file_id} {state}")
    return row


def require_released(released_versions: set[int] | None, version: int, path: str) -> None:
    """On the floor, a version is readable only if it was released (`released_versions` None: not the floor)."""
    if released_versions is not None and version not in released_versions:
        raise NotFound(f"Version {version} of {path!r} was never released")
