"""The listing's card filters and card sort, from the query (`card=key:op:value`, `sort=card.<key>`).

    card=customer:eq:ACME        equal, any case (text, choice, user; numbers, dates and true/false by value)
    card=machine:in:DMU 50|Mazak one of several (`|` between them)
    card=qty:gte:10  card=due:lte:2026-12-31     ranges (number, date)
    card=description:has:flange  a substring, any case
    card=material:empty          no value (own or inherited);  card=material:set  any value

Conditions combine with each other and with the other filters (AND). The search box `q` also matches card
values: app/repositories/cards_search.py `text_search`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadRequest
from app.models import CardField
from app.repositories.cards import CardFieldRepository
from app.repositories.cards_search import CardCondition, CardSort, Column, Op, Typed
from app.services.card_types import parse
from app.services.cursors import decode_cursor, encode_cursor

CARD_SORT_PREFIX = "card."
_TEXTUAL = {"text", "choice", "user"}
_TYPED_COLUMN: dict[str, Column] = {"number": "num", "date": "date", "bool": "bool"}


def _typed(field: CardField, raw: str, spec: str) -> Typed:
    if field.type in _TEXTUAL:
        return raw.strip().lower()
    stored = parse(field, raw, lambda name: name)
    if stored is None:
        raise BadRequest(f"Filter {spec!r} needs a value (or use `{field.key}:empty`)")
    value = {"number": stored.num, "date": stored.day, "bool": stored.flag}[field.type]
    assert value is not None
    return value


def _condition(field: CardField, op: Op, raw: str, spec: str) -> CardCondition:
    if op in ("empty", "set"):
        return CardCondition(field.id, op, "text")
    if op == "has":
        if not raw.strip():
            raise BadRequest(f"Filter {spec!r} needs the text to look for")
        return CardCondition(field.id, op, "lower", (raw.strip().lower(),))
    column: Column = "lower" if field.type in _TEXTUAL else _TYPED_COLUMN[field.type]
    if op in ("gte", "lte") and field.type not in ("number", "date"):
        raise BadRequest(f"Filter {spec!r}: ranges are for number and date fields")
    if op == "in":
        values = tuple(_typed(field, part, spec) for part in raw.split("|") if part.strip())
        if not values:
            raise BadRequest(f"Filter {spec!r} needs values (`a|b`)")
        return CardCondition(field.id, op, column, values)
    return CardCondition(field.id, op, column, (_typed(field, raw, spec),))


async def listing_filters(session: AsyncSession, specs: Sequence[str]) -> tuple[CardCondition, ...]:
    if not specs:
        return ()
    fields = {f.key: f for f in await CardFieldRepository(session).listed()}
    conditions = []
    for spec in specs:
        key, _, rest = spec.partition(":")
        op, _, raw = rest.partition(":")
        field = fields.get(key.strip())
        if field is None:
            raise BadRequest(f"Filter {spec!r}: no card field {key!r}")
        if op not in get_args(Op):
            raise BadRequest(f"Filter {spec!r}: the operator is one of {', '.join(get_args(Op))}")
        conditions.append(_condition(field, op, raw, spec))  # type: ignore[arg-type]  # checked just above
    return tuple(conditions)


async def listing_sort(session: AsyncSession, sort: str, *, descending: bool) -> CardSort | None:
    """The card field a `sort=card.<key>` names (None for the file's own sort keys)."""
    if not sort.startswith(CARD_SORT_PREFIX):
        return None
    key = sort.removeprefix(CARD_SORT_PREFIX)
    field = await CardFieldRepository(session).by_key(key)
    if field is None or field.removed_at is not None:
        raise BadRequest(f"No card field {key!r} to sort by")
    column: Column = "lower" if field.type in _TEXTUAL else _TYPED_COLUMN[field.type]
    return CardSort(field.id, column, descending)


def encode_card_cursor(flag: bool, value: Typed, file_id: int) -> str:
    return encode_cursor(int(flag), str(value) if not isinstance(value, bool) else int(value), file_id)


def decode_card_cursor(cursor: str, s: CardSort) -> tuple[Any, ...]:
    """(flag, value, id) of the previous page's last row, typed for the sort's column; 400 for anything else."""
    kinds: tuple[type, ...] = (int, int, int) if s.column == "bool" else (int, str, int)
    flag, raw, file_id = decode_cursor(cursor, *kinds)
    try:
        value: Typed
        if s.column == "num":
            value = Decimal(raw)
        elif s.column == "date":
            value = date.fromisoformat(raw)
        elif s.column == "bool":
            value = bool(raw)
        else:
            value = raw
    except (InvalidOperation, ValueError):
        raise BadRequest("Invalid cursor") from None
    if flag not in (0, 1):
        raise BadRequest("Invalid cursor")
    return bool(flag), value, file_id
