"""Data cards and where-used links: field definitions, card values of files and folders, links between files.

Events name the fields that changed, never their values: every socket gets them, the shop floor's too, and the
values (old and new) are the audit row's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from app.journal.entry import Entry

# {"part_number": {"old": "P-1", "new": "P-2"}, …}; None is an empty value.
Changes = dict[str, dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class CardChanged(Entry):
    """A file's own card values changed (an edit, an upload or check-in with `card.<key>`, a bulk set, an import)."""

    action = "card.changed"
    event = "card_changed"
    audit_only = frozenset({"changes"})
    file_id: int
    path: str
    user: str
    fields: list[str]
    changes: Changes
    via: str  # edit | upload | checkin | bulk | import


@dataclass(frozen=True, kw_only=True)
class FolderCardChanged(Entry):
    """A folder's card changed: the defaults of every file below it (`files`: how many inherit differently now).

    `folder_key` is how the card history of a file finds the changes of its folders' cards; `via` says whether
    someone edited the card or deleted the folder (which clears its card)."""

    action = "card.folder_changed"
    event = "folder_card_changed"
    target_field: ClassVar[str | None] = "folder"
    event_only = frozenset({"user"})
    audit_only = frozenset({"changes", "folder_key"})
    folder: str
    folder_key: str
    user: str
    fields: list[str]
    changes: Changes
    files: int
    via: str  # edit | folder_deleted


@dataclass(frozen=True, kw_only=True)
class _FieldEntry(Entry):
    target_field: ClassVar[str | None] = "key"
    event_only = frozenset({"user"})
    key: str
    user: str


@dataclass(frozen=True, kw_only=True)
class CardFieldCreated(_FieldEntry):
    action = "card.field_created"
    event = "card_fields_changed"
    audit_only = frozenset({"definition"})
    definition: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CardFieldChanged(_FieldEntry):
    """An admin changed a field's definition (label, choices, required, where it applies, order)."""

    action = "card.field_changed"
    event = "card_fields_changed"
    audit_only = frozenset({"changes"})
    changes: Changes


@dataclass(frozen=True, kw_only=True)
class CardFieldRemoved(_FieldEntry):
    """Removed from cards and filters; its values stay in the database and in the card history."""

    action = "card.field_removed"
    event = "card_fields_changed"


@dataclass(frozen=True, kw_only=True)
class _LinkEntry(Entry):
    """`path` (the file with id `file_id`) uses `target` (or no longer does)."""

    event = "links_changed"
    file_id: int
    path: str
    user: str
    link_id: int
    kind: str
    target_id: int
    target: str


@dataclass(frozen=True, kw_only=True)
class LinkAdded(_LinkEntry):
    action = "link.added"
    audit_only = frozenset({"note"})
    note: str


@dataclass(frozen=True, kw_only=True)
class LinkRemoved(_LinkEntry):
    action = "link.removed"
