"""The typed change journal (app/journal/entry.py); importing this package registers every kind."""

from app.journal import accounts, cards, lifecycle, presence, vault
from app.journal.entry import CHANNEL, Entry, append, append_many, event_types, kinds

__all__ = [
    "CHANNEL",
    "Entry",
    "accounts",
    "append",
    "append_many",
    "cards",
    "event_types",
    "kinds",
    "lifecycle",
    "presence",
    "vault",
]
