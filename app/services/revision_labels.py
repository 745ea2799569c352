"""Revision labels: the names operators speak (A, B, C … or 1, 2, 3), from a file's revision number.

Letters skip I, O, Q, S, X and Z, which read as digits on a shop floor (1, 0, 9, 5, a cross, 2), as Onshape's
revision lists do. After Y comes AA (a bijective base-20 count: … Y, AA, AB … AY, BA … YY, AAA). A file's
revisions are numbered 1, 2, 3 … and never repeat or go back, so neither do its labels; the two schemes'
labels never look alike, so changing REVISION_SCHEME later cannot repeat a label either.
"""

from __future__ import annotations

from typing import Literal

from app.core.errors import BadRequest

Scheme = Literal["letters", "numeric"]

LETTERS = "ABCDEFGHJKLMNPRTUVWY"
SKIPPED = "IOQSXZ"
MAX_LABEL = 16  # the column's width


def label_for(seq: int, scheme: Scheme) -> str:
    """The label of a file's `seq`-th revision (1 is A, or 1)."""
    if seq < 1:
        raise ValueError(f"revision numbers start at 1, not {seq}")
    if scheme == "numeric":
        return str(seq)
    letters = []
    n = seq
    while n:
        n, digit = divmod(n - 1, len(LETTERS))
        letters.append(LETTERS[digit])
    return "".join(reversed(letters))


def seq_of(label: str, scheme: Scheme) -> int:
    """The revision number a label names under the scheme; 400 for a label the scheme never gives."""
    text = label.strip().upper()
    if not text or len(text) > MAX_LABEL:
        raise BadRequest(f"{label!r} is not a revision label")
    if scheme == "numeric":
        if not (text.isascii() and text.isdigit()) or text.startswith("0"):
            raise BadRequest(f"{label!r} is not a revision label (REVISION_SCHEME=numeric: 1, 2, 3 …)")
        return int(text)
    skipped = sorted({c for c in text if c in SKIPPED})
    if skipped:
        raise BadRequest(
            f"{label!r} is not a revision label: {', '.join(skipped)} are never used (they read as digits)"
        )
    if any(c not in LETTERS for c in text):
        raise BadRequest(f"{label!r} is not a revision label (REVISION_SCHEME=letters: A, B … Y, AA, AB …)")
    seq = 0
    for c in text:
        seq = seq * len(LETTERS) + LETTERS.index(c) + 1
    return seq


def seq_of_any(label: str) -> int:
    """The revision number of a label from either scheme (a released branch may hold both: REVISION_SCHEME can
    change over an installation's life)."""
    return seq_of(label, "numeric" if label.isdigit() else "letters")
