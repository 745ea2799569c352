"""Keyset-pagination cursors: the sort key of a page's last row, opaque to clients, checked on the way back.

A cursor comes back from the client, so it is input like any other: each value must have the type and
range its column can hold, or the answer is 400 (never a database error).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from app.core.errors import BadRequest

INT64_MAX = 2**63 - 1
Kind = type[int] | type[str] | type[datetime]


def encode_cursor(*values: int | str | datetime) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *kinds: Kind) -> list[Any]:
    """The values encode_cursor was given, each checked against `kinds`; BadRequest for anything else."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise BadRequest("Invalid cursor") from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise BadRequest("Invalid cursor")
    return [_checked(value, kind) for value, kind in zip(values, kinds, strict=True)]


def _checked(value: object, kind: Kind) -> int | str | datetime:
    if kind is int and isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX:
        return value
    if kind is str and isinstance(value, str) and "\x00" not in value:
        return value
    if kind is datetime and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadRequest("Invalid cursor") from None
        if parsed.tzinfo is not None:
            return parsed
    raise BadRequest("Invalid cursor")
