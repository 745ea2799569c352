"""The modal state of a control, run one line at a time: every move it makes goes to a sink.

A sink is told each straight segment (rapid, feed, or a machine move to or from the reference
point), each arc with its centre and sweep, dwells, drilled holes, tool changes and what could not be
interpreted. The facts (`app/nc/facts.py`) are one sink; tests collect the geometry with another.
The browser's `interpret.js` is this module line for line; `tests/nc/test_agreement.py` holds them
equal on the corpus.

Positions are kept in millimetres in program coordinates. The tool starts at the origin, but an axis
only counts as *known* once the program has set it (an incremental move from the start counts: it is
relative to the program's origin); after a G28/G30/G53 move an axis is *homed*: somewhere at the
machine's reference point, not known in program coordinates, until an absolute value sets it again.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, compress, product, repeat
from typing import NamedTuple, Protocol

from app.nc import lexer
from app.nc.lexer import Block, lex

RAPID, FEED, MACHINE = 0, 1, 2
X, Y, Z = 1, 2, 4  # bits of a `known` mask
INCH = 25.4
TAU = 2 * math.pi
HALF_PI = math.pi / 2
EPS = 1e-9  # mm: start and end of an I/J/K arc this close make a full circle
R_TOLERANCE = 0.005  # mm a chord may exceed 2R (posts round coordinates) before an R arc is refused
MAX_PECKS = 1000  # per hole; a smaller Q is drawn as this many pecks

Point = tuple[float, float, float]

# Plane -> (first axis, second axis, normal): arcs turn counter-clockwise from the first towards the second.
PLANES = {170: (0, 1, 2), 180: (2, 0, 1), 190: (1, 2, 0)}
CYCLES = frozenset((730, 810, 820, 830, 840, 850, 860, 870, 880, 890))
DWELL_CYCLES = frozenset((820, 840, 870, 880, 890))
FEED_OUT_CYCLES = frozenset((840, 850, 890))  # tapping and boring leave the hole at feed rate
# Codes that change nothing that is drawn or timed here: exact stop and path modes, work offsets, tool length
# offsets, cancels (cutter compensation, scaling, rotation, polar, mirror, macro modal), data setting (G10),
# spindle-speed limits and constant rpm, look-ahead modes.
HARMLESS = frozenset(
    (
        *(51, 81, 90, 150, 400, 430, 440, 490, 500, 501, 540, 541, 550, 560, 570, 580, 590),
        *(610, 611, 640, 670, 690, 970, 1870),
    )
)
CUTTER_COMPENSATION = frozenset((410, 420, 411, 421))
TRANSFORMS = frozenset((160, 510, 511, 520, 680, 682, 920))
SUBPROGRAM_GCODES = frozenset((650, 660, 661))
SUBPROGRAM_MCODES = frozenset((97, 98, 99, 198))
OTHER_AXES = "ABCUVW"
# What a few codes that are not interpreted do, for the message on their line.
UNSUPPORTED = {
    50: "high-speed machining cycle",
    120: "circle pocket",
    130: "circle pocket",
    320: "threading",
    330: "threading",
    700: "finishing cycle",
    710: "turning cycle",
    720: "facing cycle",
    740: "tapping or peck cycle",
    750: "grooving cycle",
    760: "fine boring or threading cycle",
    960: "constant surface speed: S is a surface speed, not rpm",
}

# The common line of a CAM post: motion words in the usual order, nothing else. It is read without the general
# lexer; what it means is exactly what `lex` + `execute` would make of it (the tests run both ways).
# Numbers are checked by float() (the lexer explains the ones it refuses); words are separated by one space.
_SIMPLE = re.compile(
    r"(?:N\d+ ?)?(?:G0?([0-3])(?![\d.]) ?)?" + "".join(f"(?:{letter}([-+]?[\\d.]+) ?)?" for letter in "XYZIJKRF")
).fullmatch


# Plain lines, read by columns (Interpreter.run_blocks): what is left of a line once the characters of its numbers
# are taken out is its shape (`N10 G1 X1.5 Y-2.` -> `N G X Y`). A plain line's shape has the words N G X Y Z F, in
# that order, each at most once, separated by one space or none, with at most one space at the end; its G is G0 or
# G1. Every word must be followed by its number and every number follow its word (checked per run of such lines on
# its skeleton, see `_columns`; float() checks the numbers). Any other line goes to `feed_line`, as do plain lines
# the interpreter's state does not allow in a batch. Bits of a shape's words:
_WORD_BITS = {"N": 1, "G": 2, "X": 4, "Y": 8, "Z": 16, "F": 32}
_G_BIT = 2
_MOVES = 4 | 8 | 16
_NUMBER_CHARS = "0123456789.+-"
_SHAPE = str.maketrans("", "", _NUMBER_CHARS)
_SPACE_WORDS = str.maketrans("".join(_WORD_BITS), " " * len(_WORD_BITS))  # then split() gives the numbers
_SKELETON = str.maketrans("".join(_WORD_BITS) + _NUMBER_CHARS, "A" * len(_WORD_BITS) + "9" * len(_NUMBER_CHARS))
# bytes.translate tables: a letter's byte to 1 and every other to 0; a line's code to 1 when it has the bit.
_LETTER_MASK = {letter: bytes(int(b == ord(letter)) for b in range(256)) for letter in _WORD_BITS}
_BIT_MASK = {bit: bytes(int(bool(b & bit)) for b in range(256)) for bit in _WORD_BITS.values()}
_PLAIN_G = re.compile(r"(?:N[0-9.+-]* ?)?G0?[01](?![0-9.+-])").match


def _plain_shapes() -> dict[str, int]:
    shapes = {}
    for mask in range(1, 64):
        letters = [letter for letter, bit in _WORD_BITS.items() if mask & bit]
        for spaces in product(("", " "), repeat=len(letters)):
            shapes["".join(map(operator.add, letters, spaces))] = mask
    return shapes


_PLAIN_SHAPES = _plain_shapes()


class Arc(NamedTuple):
    centre: Point
    a: int  # first axis of the plane (0 = X)
    b: int  # second axis
    a0: float  # angle of the start point around the centre, radians
    sweep: float  # radians; positive turns counter-clockwise seen from the plane's normal (G3)
    r0: float  # radius at the start
    r1: float  # radius at the end (differs when a program's I/J/K are a little off: drawn as a spiral)


class Modal:
    """What moves are made under; sinks read it when a move arrives."""

    __slots__ = ("changes", "feed", "feed_mode", "inch", "spindle", "tool")

    def __init__(self) -> None:
        self.changes = 0  # counts every change of the others, so a sink can keep what it derived from them
        self.tool: int | None = None
        self.feed: float | None = None  # mm/min (G94); mm/rev under G95; None until an F is read
        self.feed_mode = 94
        self.spindle: float | None = None
        self.inch = False


class Sink(Protocol):
    def segment(self, kind: int, line: int, start: Point, end: Point, known: int, peck: bool) -> None: ...
    def arc(self, line: int, start: Point, end: Point, arc: Arc, known: int) -> None: ...
    def dwell(self, line: int, seconds: float) -> None: ...
    def hole(self, line: int) -> None: ...
    def machine(self, line: int) -> None: ...
    def tool(self, number: int, line: int, comment: str | None) -> None: ...
    def flag(self, kind: str, line: int, message: str) -> None: ...
    def program(self, number: str, line: int) -> None: ...
    def end(self, line: int) -> None: ...


def dwell_seconds(block: Block) -> float:
    """G4 and cycle dwells: P with a decimal point is seconds, P without one milliseconds (Fanuc, Haas);
    X and U are seconds."""
    words = block.words
    if "P" in words:
        return words["P"] if block.p_seconds else words["P"] / 1000
    return words.get("X", words.get("U", 0.0))


def format_gcode(code: int) -> str:
    return f"G{code // 10}" + (f".{code % 10}" if code % 10 else "")


def fmt(value: float) -> str:
    """A number for a message: at most 4 decimals, no trailing zeros (as the browser's parser writes it)."""
    return format(value + 0.0, ".4f").rstrip("0").rstrip(".")


_NO_WORDS: dict[str, float] = {}


# A run of plain lines by letter: the lines (0-based in the run) that give the letter, None when every line does,
# and their numbers as written.
Columns = dict[str, tuple[list[int] | None, list[str]]]


def _columns(lines: list[str], shapes: list[str], codes: list[int], start: int, end: int) -> Columns | None:
    """The words of plain lines [start, end) by letter; None when a word has no number or a number no word
    (such lines are read one at a time). String and list operations that run in C, none per line in Python."""
    text = "\n".join(lines[start:end])
    letters = "".join(shapes[start:end]).replace(" ", "").encode()
    numbers = text.translate(_SPACE_WORDS).split()  # the runs of number characters, in order
    # Plain lines hold only letters (A in the skeleton), number characters (9), spaces and newlines. When every
    # letter is followed by a number character and there are as many runs of them as letters, each letter has its
    # number and there is no other (`X Y2`, `5X1`, `X1 5`: read by the lexer, which says what is wrong).
    if len(numbers) != len(letters) or text.translate(_SKELETON).count("A9") != len(letters):
        return None
    run = bytes(codes[start:end])
    count = end - start
    present = 0
    for mask in set(run):
        present |= mask
    columns: Columns = {}
    for letter, bit in _WORD_BITS.items():
        if present & bit:
            values = numbers if present == bit else list(compress(numbers, letters.translate(_LETTER_MASK[letter])))
            given = None if len(values) == count else list(compress(range(count), run.translate(_BIT_MASK[bit])))
            columns[letter] = (given, values)
    return columns


def _filled(column: tuple[list[int] | None, list[str]] | None, count: int, initial: float, scale: float) -> list[float]:
    """A column as the value in force on each of `count` lines: the last one given, or `initial` before the first.
    Built from C-level list operations, not a Python loop over the lines."""
    if column is None:
        return [initial] * count
    given, texts = column
    values: Iterable[float] = map(float, texts)
    if scale != 1.0:
        values = map(operator.mul, values, repeat(scale))
    if given is None:  # every line gives one, as X and Y do in most lines of a surface
        return list(values)
    runs = map(operator.sub, chain(given[1:], (count,)), given)
    return [initial] * given[0] + list(chain.from_iterable(map(repeat, values, runs)))


class Interpreter:
    def __init__(self, sink: Sink, modal: Modal | None = None) -> None:
        self.sink = sink
        self.modal = modal or Modal()
        self.line = 0
        self.pos: Point = (0.0, 0.0, 0.0)
        self.known = 0  # axes the program has set (bits X, Y, Z)
        self.homed = 0  # axes sent to the reference point since
        self.top_z: float | None = None  # highest known Z: a homed Z is drawn there
        self.scale = 1.0
        self.plane = PLANES[170]
        self.absolute = True
        self.arc_absolute = False
        self.retract_initial = True  # G98
        self.motion = 0
        self.cycle: int | None = None
        self.cycle_depth: float | None = None
        self.cycle_r: float | None = None
        self.cycle_q: float | None = None
        self.cycle_dwell = 0.0
        self.initial_level = 0.0
        self.selected: tuple[int, int, str | None] | None = None  # T word: number, line, comment
        self.loaded: int | None = None  # put in the spindle by M6
        self.announced: set[int] = set()
        self.program_seen = False
        self.ended: int | None = None
        self.after_end_flagged = False

    # -- reading ------------------------------------------------------------------------------------------------

    def run(self, lines: Iterable[str]) -> int:
        """Run every line (with or without its line ending); returns how many there were."""
        for text in lines:
            self.feed_line(text)
        return self.line

    def run_blocks(self, blocks: Iterable[str]) -> int:
        """Run text given in blocks of whole lines (each block but the last ends with a line ending).

        Runs of plain G0/G1 lines go to the sink in one batch when it takes them (a `straight_moves` method, see
        FactsSink): list operations that run in C instead of Python for every line, which is most of a large
        program. They mean exactly what `feed_line` makes of them one at a time (tests/nc/test_batches.py)."""
        batches = hasattr(self.sink, "straight_moves")
        for block in blocks:
            if block.endswith("\n"):
                block = block[:-1]  # a line ending at the end of a block starts no further line
            if not batches:
                for text in block.split("\n"):
                    self.feed_line(text)
                continue
            if "\r" in block:
                block = block.replace("\r\n", "\n")  # feed_line drops a line's \r: so do the columns
            lines = block.split("\n")
            shapes = block.translate(_SHAPE).split("\n")
            codes = list(map(_PLAIN_SHAPES.get, shapes, repeat(0)))
            for i in compress(range(len(codes)), map(operator.and_, codes, repeat(_G_BIT))):
                if _PLAIN_G(lines[i]) is None:  # G2, G90...: not a plain line
                    codes[i] = 0
            start = 0
            for end in chain(compress(range(len(codes)), map(operator.not_, codes)), (len(codes),)):
                if start < end:
                    self._plain(lines, shapes, codes, start, end)
                if end < len(codes):
                    self.feed_line(lines[end])
                start = end + 1
        return self.line

    def _batchable(self) -> bool:
        modal = self.modal
        return (
            self.ended is None
            and self.cycle is None
            and self.motion < 2
            and self.absolute
            and self.known == X | Y | Z
            and modal.feed_mode == 94
            and modal.feed is not None
            and modal.feed > 0
        )

    def _plain(self, lines: list[str], shapes: list[str], codes: list[int], start: int, end: int) -> None:
        """Plain lines [start, end) of a block: one at a time until the state allows a batch, then the rest in one
        batch (or one at a time after all, when a word does not read or a feed is not positive)."""
        while start < end and not self._batchable():
            self.feed_line(lines[start])
            start += 1
        if start == end:
            return
        columns = _columns(lines, shapes, codes, start, end)
        try:
            done = columns is not None and self._batch(codes[start:end], columns)
        except ValueError:  # a number such as 1.2.3: the lexer explains it, one line at a time
            done = False
        if not done:
            for i in range(start, end):
                self.feed_line(lines[i])

    def _batch(self, codes: list[int], columns: Columns) -> bool:
        """Straight moves of plain lines, all at once. False (nothing done) when a feed in them is not positive."""
        s = self.scale
        count = len(codes)
        if "N" in columns:
            list(map(float, columns["N"][1]))  # a sequence number that does not read: the lexer says why
        feeds = _filled(columns.get("F"), count, self.modal.feed or 0.0, s)  # _batchable: the feed in force is > 0
        if min(feeds, default=1.0) <= 0:
            return False
        px = _filled(columns.get("X"), count, self.pos[0], s)
        py = _filled(columns.get("Y"), count, self.pos[1], s)
        pz = _filled(columns.get("Z"), count, self.pos[2], s)
        motions = _filled(columns.get("G"), count, float(self.motion), 1.0)  # 1.0 (true) for G1, 0.0 for G0
        lines: Sequence[int] = range(self.line + 1, self.line + 1 + count)
        self.line += count
        moved = list(map(operator.and_, codes, repeat(_MOVES)))
        if not all(moved):  # lines with only N, G or F words move nothing
            lines = list(compress(lines, moved))
            motions, feeds, px, py, pz = (list(compress(c, moved)) for c in (motions, feeds, px, py, pz))
        if lines:
            self.sink.straight_moves(lines, motions, px, py, pz, self.pos, feeds)  # type: ignore[attr-defined]
            top = max(pz)
            if self.top_z is None or top > self.top_z:
                self.top_z = top
            self.pos = (px[-1], py[-1], pz[-1])
        if "G" in columns:
            self.motion = int(columns["G"][1][-1])
        if "F" in columns:
            self.modal.feed = float(columns["F"][1][-1]) * s
            self.modal.changes += 1
        return True

    def feed_line(self, text: str) -> None:
        self.line += 1
        if text.endswith("\n"):
            text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
        simple = _SIMPLE(text) if self.ended is None else None
        if simple is not None:
            g, x, y, z, i, j, k, r, f = simple.groups()
            try:
                fx = None if x is None else float(x)
                fy = None if y is None else float(y)
                fz = None if z is None else float(z)
                fi = None if i is None else float(i)
                fj = None if j is None else float(j)
                fk = None if k is None else float(k)
                fr = None if r is None else float(r)
                ff = None if f is None else float(f)
            except ValueError:  # such as X1.2.3: the lexer says what is wrong with it
                simple = None
        if simple is None:
            self.execute(lex(text))
            return
        if ff is not None:
            self.modal.feed = ff * self.scale
            self.modal.changes += 1
        if g is not None:
            self.motion = int(g)
            self.cycle = None
        if fx is not None or fy is not None or fz is not None:
            if self.cycle is None and self.motion < 2:
                end, known, homed = self._target(fx, fy, fz)
                self._move_to(self.motion, end, known, homed)  # G0 is RAPID (0), G1 is FEED (1)
            else:
                self._motion(fx, fy, fz, fi, fj, fk, fr, _NO_WORDS, False)
        elif self.cycle is None:
            if self.motion >= 2 and (fi is not None or fj is not None or fk is not None):
                self._motion(fx, fy, fz, fi, fj, fk, fr, _NO_WORDS, False)
        elif fr is not None:
            self._cycle_words(fr, _NO_WORDS, False)

    # -- one block ----------------------------------------------------------------------------------------------

    def execute(self, block: Block) -> None:
        line, sink, modal = self.line, self.sink, self.modal
        if self.ended is not None:
            if not block.tape and not block.empty:
                self._after_end()
            return
        for kind, message in block.flags:
            sink.flag(kind, line, message)
        if block.skip or block.tape:
            return
        if block.program is not None:
            if not self.program_seen:
                self.program_seen = True
                sink.program(block.program, line)
            else:
                sink.flag(lexer.SUBPROGRAM, line, f"another program (O{block.program}) starts here: run as if inline")
        words = block.words
        motion: int | None = None
        cycle: int | None = None
        cancel = False
        nonmodal: int | None = None
        for code in block.gcodes:  # units first: every other word of the block is read in them
            if code == 200 or code == 210:
                self.scale = INCH if code == 200 else 1.0
                modal.inch = code == 200
                modal.changes += 1
        for code in block.gcodes:
            if code in (0, 10, 20, 30):
                motion = code // 10
            elif code in PLANES:
                self.plane = PLANES[code]
            elif code == 900 or code == 910:
                self.absolute = code == 900
            elif code == 901 or code == 911:
                self.arc_absolute = code == 901
            elif code == 930 or code == 940 or code == 950:
                modal.feed_mode = code // 10
                modal.changes += 1
                if code != 940:
                    what = "inverse time feed (G93)" if code == 930 else "feed per revolution (G95)"
                    sink.flag(lexer.UNSUPPORTED_CODE, line, f"{what}: feed moves are not timed")
            elif code == 980 or code == 990:
                self.retract_initial = code == 980
            elif code == 800:
                cancel = True
            elif code in CYCLES:
                cycle = code
            elif code in (40, 100, 280, 300, 530):
                nonmodal = code  # G10 (data setting) takes axis words as data
            elif code == 200 or code == 210 or code in HARMLESS:
                pass
            elif code in CUTTER_COMPENSATION:
                sink.flag(
                    lexer.CUTTER_COMPENSATION,
                    line,
                    f"cutter compensation ({format_gcode(code)}): the path is drawn as programmed, not offset",
                )
            elif code in TRANSFORMS:
                nonmodal = code
                sink.flag(lexer.TRANSFORM, line, f"{format_gcode(code)} changes coordinates: not applied")
            elif code in SUBPROGRAM_GCODES:
                sink.flag(lexer.SUBPROGRAM, line, f"macro call {format_gcode(code)}: not followed")
                return
            else:
                what = f" ({UNSUPPORTED[code]})" if code in UNSUPPORTED else ""
                sink.flag(lexer.UNSUPPORTED_CODE, line, f"{format_gcode(code)}{what} is not interpreted")
        if "F" in words:
            modal.feed = words["F"] * self.scale
            modal.changes += 1
        if "S" in words:
            modal.spindle = words["S"]
            modal.changes += 1
        if "T" in words:
            self.selected = (int(words["T"]), line, block.comment)
            if self.loaded is None:  # no M6 so far (lathes, controls without M6): T takes the tool
                self._take(self.selected)
        for code in block.mcodes:
            if code == 6 and self.selected is not None:
                self.loaded = self.selected[0]
                self._take(self.selected)
            elif code in SUBPROGRAM_MCODES:
                sink.flag(lexer.SUBPROGRAM, line, f"subprogram M{code}: not followed")
        if nonmodal == 40:
            sink.dwell(line, dwell_seconds(block))
        if motion is not None:
            self.motion = motion
            self.cycle = None
        if cancel:
            self.cycle = None
        if cycle is not None:
            if self.cycle is None:
                self.initial_level = self.pos[self.plane[2]]
            self.cycle = cycle
        x, y, z = words.get("X"), words.get("Y"), words.get("Z")
        i, j, k = words.get("I"), words.get("J"), words.get("K")
        has_axes = x is not None or y is not None or z is not None
        if nonmodal == 280 or nonmodal == 300:
            self._home(x, y, z)
        elif nonmodal == 530:
            if has_axes:
                self._machine_coordinates(x, y, z)
        elif nonmodal is not None:
            pass  # dwell, G10, G52, G92, G68...: their axis words are data, not a move
        elif has_axes or (self.cycle is None and self.motion >= 2 and not (i is None and j is None and k is None)):
            self._motion(x, y, z, i, j, k, words.get("R"), words, block.p_seconds)
        elif self.cycle is not None:
            self._cycle_words(words.get("R"), words, block.p_seconds)
        if nonmodal != 40 and any(letter in words for letter in OTHER_AXES):
            axes = "".join(letter for letter in OTHER_AXES if letter in words)
            sink.flag(lexer.OTHER_AXES, line, f"axis {', '.join(axes)} is not drawn")
        if 2 in block.mcodes or 30 in block.mcodes:
            self.ended = line
            sink.end(line)

    def _take(self, selected: tuple[int, int, str | None]) -> None:
        number, line, comment = selected
        self.modal.tool = number
        self.modal.changes += 1
        if number not in self.announced:
            self.announced.add(number)
            self.sink.tool(number, line, comment)

    def _after_end(self) -> None:
        if not self.after_end_flagged:
            self.after_end_flagged = True
            self.sink.flag(
                lexer.AFTER_END, self.line, f"the program ended at line {self.ended}: what follows is not run"
            )

    # -- moves --------------------------------------------------------------------------------------------------

    def _target(self, x: float | None, y: float | None, z: float | None) -> tuple[Point, int, int]:
        """Where axis words send the tool, and the known and homed masks after the move."""
        s = self.scale
        px, py, pz = self.pos
        known, homed = self.known, self.homed
        if self.absolute:
            if x is not None:
                px = x * s
                known |= X
                homed &= ~X
            if y is not None:
                py = y * s
                known |= Y
                homed &= ~Y
            if z is not None:
                pz = z * s
                known |= Z
                homed &= ~Z
        else:
            if x is not None:
                px = px + x * s
                if not homed & X:
                    known |= X
            if y is not None:
                py = py + y * s
                if not homed & Y:
                    known |= Y
            if z is not None:
                pz = pz + z * s
                if not homed & Z:
                    known |= Z
        return (px, py, pz), known, homed

    def _move_to(self, kind: int, end: Point, known: int, homed: int, peck: bool = False) -> None:
        start = self.pos
        self.pos, self.known, self.homed = end, known, homed
        if known & Z and (self.top_z is None or end[2] > self.top_z):
            self.top_z = end[2]
        self.sink.segment(kind, self.line, start, end, known, peck)

    def _motion(
        self,
        x: float | None,
        y: float | None,
        z: float | None,
        i: float | None,
        j: float | None,
        k: float | None,
        r: float | None,
        words: dict[str, float],
        p_seconds: bool,
    ) -> None:
        if self.cycle is not None:
            self._cycle(x, y, z, r, k, words, p_seconds)
            return
        end, known, homed = self._target(x, y, z)
        if self.motion == 0:
            self._move_to(RAPID, end, known, homed)
        elif self.motion == 1:
            self._move_to(FEED, end, known, homed)
        else:
            self._arc(end, known, homed, i, j, k, r)

    def _arc(
        self, end: Point, known: int, homed: int, i: float | None, j: float | None, k: float | None, r: float | None
    ) -> None:
        a, b, n = self.plane
        start = self.pos
        cw = self.motion == 2
        s = self.scale
        sa, sb, ea, eb = start[a], start[b], end[a], end[b]
        full = abs(ea - sa) <= EPS and abs(eb - sb) <= EPS
        if r is not None:
            if full:
                return self._straight(end, known, homed, "an R arc cannot be a full circle: drawn as a straight line")
            rr = r * s
            dx = ea - sa
            dy = eb - sb
            d2 = dx * dx + dy * dy
            d = math.sqrt(d2)
            h2 = rr * rr - d2 / 4
            if h2 < 0:
                if d / 2 - abs(rr) > R_TOLERANCE:
                    message = f"R{fmt(r)} is less than half the chord: drawn as a straight line"
                    return self._straight(end, known, homed, message)
                h2 = 0.0
            h = math.sqrt(h2)
            # The centre lies left of the chord (start to end) for a counter-clockwise arc of at most 180 degrees,
            # right for a clockwise one; a negative R asks for the arc over 180 degrees, on the other side.
            side = -1.0 if cw else 1.0
            if rr < 0:
                side = -side
            ca = sa + dx / 2 - side * h * dy / d
            cb = sb + dy / 2 + side * h * dx / d
        else:
            offsets = (i, j, k)
            oa, ob = offsets[a], offsets[b]
            if oa is None and ob is None:
                return self._straight(end, known, homed, "G2/G3 without I, J, K or R: drawn as a straight line")
            if self.arc_absolute:
                ca = sa if oa is None else oa * s
                cb = sb if ob is None else ob * s
            else:
                ca = sa if oa is None else sa + oa * s
                cb = sb if ob is None else sb + ob * s
        a0 = math.atan2(sb - cb, sa - ca)
        if full:
            sweep = -TAU if cw else TAU
        else:
            sweep = math.atan2(eb - cb, ea - ca) - a0
            if cw and sweep >= 0:
                sweep -= TAU
            elif not cw and sweep <= 0:
                sweep += TAU
        r0 = math.sqrt((sa - ca) * (sa - ca) + (sb - cb) * (sb - cb))
        r1 = math.sqrt((ea - ca) * (ea - ca) + (eb - cb) * (eb - cb))
        centre = [0.0, 0.0, 0.0]
        centre[a], centre[b], centre[n] = ca, cb, start[n]
        self.pos, self.known, self.homed = end, known, homed
        if known & Z and (self.top_z is None or end[2] > self.top_z):
            self.top_z = end[2]
        self.sink.arc(self.line, start, end, Arc((centre[0], centre[1], centre[2]), a, b, a0, sweep, r0, r1), known)

    def _straight(self, end: Point, known: int, homed: int, message: str) -> None:
        self.sink.flag(lexer.BAD_ARC, self.line, message)
        self._move_to(FEED, end, known, homed)

    # -- canned cycles ------------------------------------------------------------------------------------------

    def _cycle_words(self, r: float | None, words: dict[str, float], p_seconds: bool) -> None:
        """Z, R, Q and P of a cycle block stay in force for the holes that follow."""
        s = self.scale
        if r is not None:
            self.cycle_r = r * s
        q = words.get("Q")
        if q is not None:
            self.cycle_q = abs(q) * s
        if "P" in words:
            self.cycle_dwell = words["P"] if p_seconds else words["P"] / 1000

    def _cycle(
        self,
        x: float | None,
        y: float | None,
        z: float | None,
        r: float | None,
        k: float | None,
        words: dict[str, float],
        p_seconds: bool,
    ) -> None:
        a, b, n = self.plane
        s = self.scale
        given = (x, y, z)
        depth = given[n]
        if depth is not None:
            self.cycle_depth = depth * s
        self._cycle_words(r, words, p_seconds)
        repeats = int(words["L"]) if "L" in words else int(k) if k is not None else 1
        if self.cycle_depth is None:
            self.sink.flag(lexer.SYNTAX, self.line, "canned cycle without a depth: no hole drawn")
            return
        along: list[float | None] = [None, None, None]  # the hole's position words, in the plane only
        along[a], along[b] = given[a], given[b]
        for _ in range(max(repeats, 0)):
            self._hole(along[0], along[1], along[2])

    def _hole(self, x: float | None, y: float | None, z: float | None) -> None:
        n = self.plane[2]
        code = self.cycle
        above, known, homed = self._target(x, y, z)  # over the hole, at the current level
        start_level = self.pos[n]
        initial = self.initial_level
        depth = self.cycle_depth
        assert depth is not None and code is not None
        if self.absolute:
            r_level = start_level if self.cycle_r is None else self.cycle_r
            bottom = depth
        else:  # G91: R from the initial level, the depth from R
            r_level = initial + (self.cycle_r or 0.0)
            bottom = r_level + depth
        bit = 1 << n
        if self.absolute and self.cycle_r is not None:
            hole_known, hole_homed = known | bit, homed & ~bit
        else:
            hole_known, hole_homed = (known if homed & bit else known | bit), homed
        clear = initial if self.retract_initial or code == 870 else r_level

        def at(level: float) -> Point:
            p = [above[0], above[1], above[2]]
            p[n] = level
            return (p[0], p[1], p[2])

        if above != self.pos:
            self._move_to(RAPID, above, known, homed)
        if r_level != start_level:
            self._move_to(RAPID, at(r_level), hole_known, hole_homed)
        if code == 830 and self.cycle_q:
            self._pecks(r_level, bottom, self.cycle_q, hole_known, hole_homed, at)
        else:
            self._move_to(FEED, at(bottom), hole_known, hole_homed)
        if code in DWELL_CYCLES and self.cycle_dwell > 0:
            self.sink.dwell(self.line, self.cycle_dwell)
        if code in FEED_OUT_CYCLES:
            self._move_to(FEED, at(r_level), hole_known, hole_homed)
        if self.pos[n] != clear:
            self._move_to(RAPID, at(clear), hole_known, hole_homed)
        self.sink.hole(self.line)

    def _pecks(
        self, r_level: float, bottom: float, q: float, known: int, homed: int, at: Callable[[float], Point]
    ) -> None:
        """G83: feed Q deeper, rapid out to R, rapid back to the depth reached, until the bottom.
        The control's small clearance above the depth reached (a parameter, not in the program) is left out."""
        total = abs(bottom - r_level)
        sign = 1.0 if bottom > r_level else -1.0
        if q < total / MAX_PECKS:
            q = total / MAX_PECKS
        done = 0.0
        while True:
            reached = min(done + q, total)
            if done > 0:
                self._move_to(RAPID, at(r_level + sign * done), known, homed, True)
            last = reached >= total
            self._move_to(FEED, at(bottom if last else r_level + sign * reached), known, homed)
            if last:
                return
            done = reached
            self._move_to(RAPID, at(r_level), known, homed, True)

    # -- machine moves ------------------------------------------------------------------------------------------

    def _home(self, x: float | None, y: float | None, z: float | None) -> None:
        """G28/G30: through the intermediate point the axis words give, then to the reference point."""
        if x is None and y is None and z is None:
            named = X | Y | Z
        else:
            named = (X if x is not None else 0) | (Y if y is not None else 0) | (Z if z is not None else 0)
            via, known, homed = self._target(x, y, z)
            if via != self.pos:
                self._move_to(MACHINE, via, known, homed)
        self._to_reference(named)

    def _machine_coordinates(self, x: float | None, y: float | None, z: float | None) -> None:
        """G53: machine coordinates, which program coordinates cannot place: the axes become homed."""
        self._to_reference((X if x is not None else 0) | (Y if y is not None else 0) | (Z if z is not None else 0))

    def _to_reference(self, named: int) -> None:
        px, py, pz = self.pos
        if named & Z and self.top_z is not None:
            pz = self.top_z  # the reference point is above the work: drawn at the highest Z the program reached
        end = (px, py, pz)
        known, homed = self.known & ~named, self.homed | named
        if end != self.pos:
            self._move_to(MACHINE, end, known, homed)
        else:
            self.known, self.homed = known, homed
        self.sink.machine(self.line)
