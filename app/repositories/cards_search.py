"""SQL of the listing's card filters and card sort (app/repositories/files.py applies them to its statement).

Every condition is "files.id is among (SELECT file_id FROM card_values WHERE field_id = … AND …)" over the effective
values (own and inherited), answered by the indexes of app/models/card.py: (field_id, value_*, file_id) for
equality and ranges, the trigram index on value_lower for substrings; "is empty" is the NOT IN of "is set".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ARRAY, ColumnElement, Integer, and_, any_, cast, func, literal, select, union
from sqlalchemy.orm import aliased

from app.models import CardValue, File

Op = Literal["eq", "in", "gte", "lte", "has", "empty", "set"]
Column = Literal["text", "lower", "num", "date", "bool"]
Typed = str | Decimal | date | bool


@dataclass(frozen=True)
class CardCondition:
    """One filter on one field: `values` are typed for `column` (one for eq/gte/lte/has, several for in)."""

    field_id: int
    op: Op
    column: Column
    values: tuple[Typed, ...] = ()


@dataclass(frozen=True)
class CardSort:
    field_id: int
    column: Column
    descending: bool


def _value_column(column: Column) -> Any:
    return {
        "text": CardValue.value_text,
        "lower": CardValue.value_lower,
        "num": CardValue.value_num,
        "date": CardValue.value_date,
        "bool": CardValue.value_bool,
    }[column]


def _among(ids: Any) -> ColumnElement[bool]:
    """`files.id = ANY((SELECT array_agg(…)))`: the matching ids are found first, once (an InitPlan from the index),
    and the files then fetched by primary key. As `IN (SELECT …)` the planner may instead join every file before
    filtering: the listing's statement joins eight tables, past `join_collapse_limit`, so it cannot always start
    from the card index (at 50,000 files: 278 ms instead of 1)."""
    # The cast makes it one array value (ANY of an array), not ANY of a subquery, which is IN again.
    return File.id == any_(cast(select(func.array_agg(next(iter(ids.c)))).scalar_subquery(), ARRAY(Integer)))


def card_condition(c: CardCondition) -> ColumnElement[bool]:
    of_field = select(CardValue.file_id).where(CardValue.field_id == c.field_id)
    if c.op == "empty":
        return File.id.not_in(of_field)
    if c.op == "set":
        return _among(of_field.subquery())
    col = _value_column(c.column)
    if c.op == "eq":
        match = col == c.values[0]
    elif c.op == "in":
        match = col.in_(list(c.values))
    elif c.op == "gte":
        match = col >= c.values[0]
    elif c.op == "lte":
        match = col <= c.values[0]
    else:  # has: a substring of the text, any case
        match = CardValue.value_lower.contains(str(c.values[0]), autoescape=True)
    return _among(of_field.where(match).subquery())


def text_search(q: str) -> ColumnElement[bool]:
    """The search box: a substring of the path or of any card value (both trigram-indexed), any case."""
    paths = select(File.id).where(File.path_key.contains(q.casefold(), autoescape=True))
    cards = select(CardValue.file_id).where(CardValue.value_lower.contains(q.lower(), autoescape=True))
    return _among(union(paths, cards).subquery())


_ZERO: dict[Column, Any] = {"lower": "", "text": "", "num": Decimal(0), "date": date(1, 1, 1), "bool": False}


def card_sort_columns(stmt: Any, s: CardSort) -> tuple[Any, list[Any]]:
    """The statement joined to the sort field's values, and the columns to order by before the id: a flag that
    puts files without a value last (either direction), then the value (a stand-in where there is none)."""
    sv = aliased(CardValue, name="sort_value")
    stmt = stmt.outerjoin(sv, and_(sv.file_id == File.id, sv.field_id == s.field_id))
    value = getattr(sv, _value_column(s.column).key)
    flag = sv.file_id.is_(None) if not s.descending else sv.file_id.is_not(None)
    return stmt, [flag, func.coalesce(value, literal(_ZERO[s.column], type_=value.type))]


async def sort_position(session: Any, file_id: int, s: CardSort) -> tuple[bool, Typed]:
    """The (flag, value) a file has in a card sort: what its page's cursor carries."""
    col = _value_column(s.column)
    stmt = select(col).where(CardValue.file_id == file_id, CardValue.field_id == s.field_id)
    value = (await session.execute(stmt)).scalar_one_or_none()
    missing = value is None
    flag = missing if not s.descending else not missing
    return flag, _ZERO[s.column] if missing else value
