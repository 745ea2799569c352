"""Who may do what, by role: the one place the rules live (dependencies and services both ask here)."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.errors import Forbidden
from app.models import Role, User

ADMINS = frozenset({Role.admin})
WRITERS = frozenset({Role.admin, Role.user})  # may upload, lock and check in
READERS = frozenset(Role)


def require(user: User, allowed: Iterable[Role], message: str | None = None) -> None:
    """403 unless the user's role is one of `allowed`."""
    roles = frozenset(allowed)
    if user.role not in roles:
        raise Forbidden(message or f"This action needs the role {' or '.join(sorted(r.value for r in roles))}")


def is_admin(user: User) -> bool:
    return user.role in ADMINS
