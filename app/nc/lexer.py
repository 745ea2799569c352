"""One line of G-code into a block: its words, G and M codes, comments and what cannot be interpreted.

The browser's parser (`app/static/js/nc/interpret.js`) reads lines by the same rules; the corpus
agreement test keeps the two equal. A G code is kept as ten times its number (G1 -> 10, G90.1 -> 901),
so codes with a decimal are exact integers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# Words that start macro B (Fanuc custom macro) or LinuxCNC O-word control flow, and function names.
_MACRO_WORDS = (
    "IF GOTO WHILE DO END THEN ELSE ELSEIF ENDIF ENDWHILE REPEAT ENDREPEAT BREAK CONTINUE "
    "EQ NE GT LT GE LE AND OR XOR MOD SIN COS TAN ASIN ACOS ATAN SQRT ABS ROUND FIX FUP LN EXP "
    "BIN BCD POPEN PCLOS DPRNT BPRNT"
)
MACRO_KEYWORDS = frozenset(_MACRO_WORDS.split(" "))
SUBPROGRAM_KEYWORDS = frozenset(("SUB", "ENDSUB", "CALL", "RETURN"))

# Flag kinds, one name each (the facts' `uninterpreted` list and the text view's marks use them).
SUBPROGRAM = "subprogram"
MACRO = "macro"
VARIABLE = "variable"
CUTTER_COMPENSATION = "cutter_compensation"
TRANSFORM = "transform"
UNSUPPORTED_CODE = "unsupported_code"
OTHER_AXES = "other_axes"
BAD_ARC = "bad_arc"
SYNTAX = "syntax"
AFTER_END = "after_end"

# A number as controls write it: 10, 10., .5, -0.25, +3.
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")
_LETTER_RUN = re.compile(r"[A-Za-z]+")


@dataclass(slots=True)
class Block:
    """One line. `words` holds the last value of each letter other than G, M, N and O."""

    words: dict[str, float] = field(default_factory=dict)
    gcodes: list[int] = field(default_factory=list)
    mcodes: list[int] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    flags: list[tuple[str, str]] = field(default_factory=list)
    program: str | None = None  # the digits of an O word
    p_seconds: bool = False  # P written with a decimal point: seconds, not milliseconds
    block_delete: bool = False
    tape: bool = False  # a `%` line
    skip: bool = False  # not run: a macro, a variable or a word that cannot be read

    @property
    def comment(self) -> str | None:
        return " ".join(self.comments) if self.comments else None

    @property
    def empty(self) -> bool:
        return not (self.words or self.gcodes or self.mcodes or self.program is not None or self.flags)


def lex(text: str) -> Block:
    """Read one line (without its line ending)."""
    block = Block()
    n = len(text)
    i = 0
    while i < n and text[i] in " \t":
        i += 1
    if i < n and text[i] == "%":
        block.tape = True
        return block
    if i < n and text[i] == "/":
        block.block_delete = True
        i += 1
    words = block.words
    while i < n:
        c = text[i]
        if c in " \t\r":
            i += 1
        elif c == "(":
            close = text.find(")", i + 1)
            end = n if close < 0 else close
            comment = text[i + 1 : end].strip()
            if comment:
                block.comments.append(comment)
            i = end + 1
        elif c == ";":
            comment = text[i + 1 :].strip()
            if comment:
                block.comments.append(comment)
            break
        elif c.isascii() and c.isalpha():
            i = _word(text, i, block, words)
        elif c == "#" or c == "=":
            _flag(block, VARIABLE, "variables (#) are not evaluated: the line is not run", skip=True)
            break
        elif c == "[":
            _flag(block, MACRO, "expressions ([ ]) are not evaluated: the line is not run", skip=True)
            break
        elif c == ":" and not block.words and not block.gcodes and block.program is None:
            number = _NUMBER.match(text, i + 1)  # `:1234`, the ISO spelling of O1234
            if number is None or not number.group().isdigit():
                _flag(block, SYNTAX, "':' without a program number", skip=True)
                break
            block.program = number.group()
            i = number.end()
        else:
            _flag(block, SYNTAX, f"unexpected character {c!r}: the line is not run", skip=True)
            break
    return block


def _word(text: str, i: int, block: Block, words: dict[str, float]) -> int:
    """One word starting at the letter at `i`; returns where reading goes on."""
    n = len(text)
    j = i + 1
    if j < n and text[j].isascii() and text[j].isalpha():
        run = _LETTER_RUN.match(text, i)
        assert run is not None
        keyword = run.group().upper()
        if keyword in MACRO_KEYWORDS:
            _flag(block, MACRO, f"macro statement {keyword}: not evaluated, the line is not run", skip=True)
        elif keyword in SUBPROGRAM_KEYWORDS:
            _flag(block, SUBPROGRAM, f"subprogram statement {keyword}: not followed", skip=True)
        else:
            _flag(block, SYNTAX, f"unknown word {keyword}: the line is not run", skip=True)
        return n
    letter = text[i].upper()
    while j < n and text[j] in " \t":
        j += 1
    if j < n and text[j] in "#[":
        kind = VARIABLE if text[j] == "#" else MACRO
        _flag(block, kind, f"{letter} takes a {'variable' if kind == VARIABLE else 'expression'}: the line is not run")
        block.skip = True
        return n
    number = _NUMBER.match(text, j)
    if number is None:
        if letter == "O" and j < n and text[j] == "<":
            _flag(block, SUBPROGRAM, "named O-word subprogram or control flow: not followed", skip=True)
        else:
            _flag(block, SYNTAX, f"{letter} without a number: the line is not run", skip=True)
        return n
    digits = number.group()
    value = float(digits)
    if letter == "G":
        block.gcodes.append(math.floor(value * 10 + 0.5))  # as the browser's Math.round does
    elif letter == "M":
        block.mcodes.append(math.floor(value + 0.5))
    elif letter == "N":
        pass  # sequence numbers only name the line
    elif letter == "O":
        if block.program is None:
            block.program = digits.lstrip("+")
    else:
        words[letter] = value
        if letter == "P":
            block.p_seconds = "." in digits
    return number.end()


def _flag(block: Block, kind: str, message: str, *, skip: bool = False) -> None:
    block.flags.append((kind, message))
    if skip:
        block.skip = True
