"""Changes to users, their sessions and their access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.journal.entry import Entry


@dataclass(frozen=True, kw_only=True)
class _AccountEntry(Entry):
    """About one user account: the audit target is its username, the subject its id."""

    target_field = "username"
    subject_field = "user_id"
    event_only = frozenset({"username", "user_id"})
    user_id: int
    username: str


# Workers act on this event (closing sockets); browsers never get it.
SESSIONS_ENDED = "auth_revoked"


@dataclass(frozen=True, kw_only=True)
class _EndsSessions(_AccountEntry):
    """Every worker closes the user's sockets (those of one token when `jti` is set): internal, not for browsers."""

    event = SESSIONS_ENDED
    forwarded = False
    reason = ""

    def payload(self) -> dict[str, Any] | None:
        return {"user_id": self.user_id, "jti": getattr(self, "jti", None), "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class UserCreated(_AccountEntry):
    action = "user.created"
    role: str
    is_approver: bool = False


@dataclass(frozen=True, kw_only=True)
class UserRegistered(_AccountEntry):
    action = "user.registered"


@dataclass(frozen=True, kw_only=True)
class UserUpdated(_EndsSessions):
    """Profile, role or active flag changed; `changes` maps a field to [before, after]. Deactivation ends sessions."""

    action = "user.updated"
    reason = "account deactivated"
    changes: dict[str, list[Any]]

    def details(self) -> dict[str, Any]:
        return dict(self.changes)

    def payload(self) -> dict[str, Any] | None:
        return super().payload() if self.changes.get("is_active") == [True, False] else None


@dataclass(frozen=True, kw_only=True)
class PasswordReset(_EndsSessions):
    action = "user.password_reset"
    reason = "password reset"


@dataclass(frozen=True, kw_only=True)
class PasswordChanged(_EndsSessions):
    action = "user.password_changed"
    reason = "password changed"


@dataclass(frozen=True, kw_only=True)
class LoggedOut(_EndsSessions):
    action = "auth.logout"
    reason = "logged out"
    event_only = frozenset({"username", "user_id", "jti"})
    jti: str


@dataclass(frozen=True, kw_only=True)
class LoggedIn(_AccountEntry):
    action = "auth.login"
    login: str  # as typed, lower-cased (the throttle matches it)


@dataclass(frozen=True, kw_only=True)
class LoginFailed(Entry):
    """The target is what was typed, so repeated failures for one name are counted together."""

    action = "auth.login_failed"
    target_field = "login"
    event_only = frozenset({"login"})
    anonymous_actor = None
    login: str
    reason: str
    via: str | None = None

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in super().details().items() if v is not None}


@dataclass(frozen=True, kw_only=True)
class AccessTokenCreated(_AccountEntry):
    action = "access_token.created"
    token_id: int
    name: str
    expires_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class AccessTokenRevoked(_AccountEntry):
    action = "access_token.revoked"
    token_id: int
    name: str
