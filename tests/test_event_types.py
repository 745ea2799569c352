"""One list of event types: the journal's kinds declare them; realtime, the browser and the docs must agree."""

from __future__ import annotations

import re
from pathlib import Path

from app import journal
from app.realtime.messages import FORWARDED_EVENTS

ROOT = Path(__file__).resolve().parents[1]


def _live_js() -> set[str]:
    text = (ROOT / "app" / "static" / "js" / "live.js").read_text()
    match = re.search(r"export const EVENT_TYPES = \[(.*?)\];", text, re.S)
    assert match, "app/static/js/live.js exports EVENT_TYPES"
    return set(re.findall(r'"([a-z_]+)"', match.group(1)))


def _docs_table() -> set[str]:
    text = (ROOT / "docs" / "realtime.md").read_text()
    section = text.split("### Event types", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))


def test_every_event_type_is_declared_once_and_known_everywhere() -> None:
    declared = journal.event_types(forwarded=True)
    assert declared, "the journal declares events"
    assert set(FORWARDED_EVENTS) == declared
    assert _live_js() == declared
    assert _docs_table() == declared


def test_internal_events_are_never_forwarded() -> None:
    internal = journal.event_types(forwarded=False)
    assert internal == {"auth_revoked"}
    assert not internal & set(FORWARDED_EVENTS)
    assert not internal & _live_js()


def test_each_kind_declares_an_audit_action_or_an_event() -> None:
    for kind in journal.kinds():
        if kind.__name__.startswith("_"):
            continue  # shared bases
        assert kind.action or kind.event, kind.__name__
