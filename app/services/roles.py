"""Who may do what, by role: the one place the rules live (dependencies and services both ask here)."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.errors import Forbidden
from app.models import Role, User

ADMINS = frozenset({Role.admin})
WRITERS = frozenset({Role.admin, Role.user})  # may upload, lock, check in and submit for review
READERS = frozenset(Role)


def require(user: User, allowed: Iterable[Role], message: str | None = None) -> None:
    """403 unless the user's role is one of `allowed`."""
    roles = frozenset(allowed)
    if user.role not in roles:
        raise Forbidden(message or f"This action needs the role {' or '.join(sorted(r.value for r in roles))}")


def is_admin(user: User) -> bool:
    return user.role in ADMINS


def can_approve(user: User) -> bool:
    """Approvers: admins, and users an admin marked as approvers. Viewers never, whatever their flag."""
    return user.role == Role.admin or (user.role == Role.user and user.is_approver)


def require_approver(user: User, action: str) -> None:
    if not can_approve(user):
        raise Forbidden(f"Only approvers (admins, and users an admin marked as approvers) can {action}")


def sees_work(user: User, viewers_see_work: bool) -> bool:
    """Whether a reader sees work in progress; otherwise (the shop floor: viewers, by default) only the current
    released revision of files that have one and are not obsolete."""
    return user.role != Role.viewer or viewers_see_work
