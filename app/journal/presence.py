"""Who is online and what they look at: events only, never audited (connecting changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from app.journal.entry import Entry


@dataclass(frozen=True, kw_only=True)
class _Presence(Entry):
    target_field = None
    user: str
    user_id: int
    full_name: str


@dataclass(frozen=True, kw_only=True)
class UserConnected(_Presence):
    """A user's first socket opened; workers add the online list when they pass it on."""

    event = "user_connected"


@dataclass(frozen=True, kw_only=True)
class UserDisconnected(_Presence):
    """A user's last socket closed (`closed`) or its worker died (`lost`)."""

    event = "user_disconnected"
    reason: str


@dataclass(frozen=True, kw_only=True)
class ViewingChanged(_Presence):
    """The set of files a user has open, over all their tabs, changed."""

    event = "viewing"
    viewing: list[int]
