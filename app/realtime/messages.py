"""The /ws wire format: names, close codes and encoding of server messages (docs/realtime.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app import journal
from app.core.db import json_dumps

# Client messages are tiny; anything bigger is a mistake or an attack and is answered with an error.
MAX_CLIENT_MESSAGE = 4096

# Database events that browsers receive as published: the journal's kinds declare them (app/journal/);
# the two presence ones gain `online_users`.
FORWARDED_EVENTS = journal.event_types(forwarded=True)
WITH_ONLINE_USERS = frozenset({"user_connected", "user_disconnected"})


def now() -> str:
    return datetime.now(UTC).isoformat()


def encode(message_type: str, **fields: Any) -> str:
    """A server message: JSON with `type` and the server time `at` first."""
    return json_dumps({"type": message_type, "at": now(), **fields})
