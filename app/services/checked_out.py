"""The refusal every change that must wait for a check-in shares (delete, submit, obsolete)."""

from __future__ import annotations

from app.core.errors import LockHeld
from app.models import Lock


def refuse_if_checked_out(held: tuple[Lock, str] | None) -> None:
    """409 naming the holder when the file is checked out (`LockRepository.live_with_holder`): the holder's next
    check-in would otherwise land on a file whose state changed under them."""
    if held is not None:
        lock, holder = held
        raise LockHeld(holder, lock.acquired_at, lock.expires_at)
