"""What a card value of each field type may be, and how it is stored: one rule per type, for every way in
(the card editor, `card.<key>` form fields of upload and check-in, bulk set, CSV import, listing filters)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from app.core.errors import Unprocessable
from app.models import CardField, FieldType

MAX_TEXT = 1000
_TRUE = {"true", "yes", "1", "on", "y"}
_FALSE = {"false", "no", "0", "off", "n"}


@dataclass(frozen=True)
class Stored:
    """A valid, non-empty value: its canonical text (shown, exported, searched) and its typed form."""

    text: str
    num: Decimal | None = None
    day: date | None = None
    flag: bool | None = None

    @property
    def lower(self) -> str:
        return self.text.casefold()


def invalid(field: CardField, reason: str) -> Unprocessable:
    """422 naming the field, in the shape the release refusal uses (`message` and `fields`)."""
    return Unprocessable({"message": f"{field.label} ({field.key}): {reason}", "fields": [field.key]})


def _clean_text(field: CardField, raw: str) -> str:
    text = unicodedata.normalize("NFC", raw).strip()
    if len(text) > MAX_TEXT:
        raise invalid(field, f"at most {MAX_TEXT} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\t" for c in text):
        raise invalid(field, "control characters are not allowed")
    return text


def parse(field: CardField, raw: Any, usernames: Callable[[str], str | None]) -> Stored | None:
    """The stored form of `raw` for `field`, None when it is empty (clears the value); 422 naming the field.

    `usernames` maps a typed name to the account's username (any case), or None when there is none.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, int | float | Decimal):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise invalid(field, "a value is text, a number, true/false or null")
    text = _clean_text(field, text)
    if text == "":
        return None
    kind = FieldType(field.type)
    if kind == FieldType.text:
        return Stored(text)
    if kind == FieldType.number:
        try:
            number = Decimal(text.replace(",", ".") if re.fullmatch(r"-?\d+,\d+", text) else text)
        except InvalidOperation:
            raise invalid(field, f"{text!r} is not a number") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            raise invalid(field, f"{text!r} is not a number camvault can store")
        number = number.normalize()
        shown = format(number, "f")
        return Stored(shown, num=number)
    if kind == FieldType.date:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise invalid(field, f"{text!r} is not a date (YYYY-MM-DD)") from None
        return Stored(day.isoformat(), day=day)
    if kind == FieldType.bool:
        lowered = text.lower()
        if lowered not in _TRUE | _FALSE:
            raise invalid(field, f"{text!r} is not true or false")
        flag = lowered in _TRUE
        return Stored("true" if flag else "false", flag=flag)
    if kind == FieldType.choice:
        match = next((c for c in field.choices if c.casefold() == text.casefold()), None)
        if match is None:
            allowed = ", ".join(field.choices) if field.choices else "none yet: an admin adds them"
            raise invalid(field, f"{text!r} is not one of the choices ({allowed})")
        return Stored(match)
    username = usernames(text)
    if username is None:
        raise invalid(field, f"{text!r} is not a user")
    return Stored(username)


def applies(field: CardField, path_key: str) -> bool:
    """Whether the field is on the card of the file at `path_key` (its extensions and folders)."""
    if field.extensions:
        name = path_key.rsplit("/", 1)[-1]
        ext = name.rsplit(".", 1)[-1] if "." in name else ""
        if ext not in field.extensions:
            return False
    if field.folders:
        return any(path_key.startswith(folder + "/") for folder in field.folders)
    return True


def stored_row(value: Stored) -> Mapping[str, Any]:
    """The value columns of card_values / folder_card_values."""
    return {"value_text": value.text, "value_num": value.num, "value_date": value.day, "value_bool": value.flag}
