"""Program facts: what a reviewer wants to know about an NC program without reading it.

`program_facts(source)` reads a program once, line by line, and returns `ProgramFacts` (a pydantic
model: `.model_dump(mode="json")` is its JSON form), or None when the bytes are not text. It is
plain CPU work with no I/O but the reading: call it off the event loop
(`await anyio.to_thread.run_sync(program_facts, path)`). The browser computes the same facts with
`app/static/js/nc/facts.js`; `tests/nc/test_agreement.py` holds the two equal.

Units: every length is in millimetres and every feed in mm/min whatever the program's units
(`units` says which it used); times are seconds.
"""

from __future__ import annotations

import io
import math
import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, compress, repeat
from pathlib import PurePath
from typing import BinaryIO, Literal

from pydantic import BaseModel, Field

from app.nc.interpreter import HALF_PI, MACHINE, RAPID, TAU, Arc, Interpreter, Modal, Point, Z, fmt

FACTS_VERSION = 1  # raise when a fact's meaning changes, so stored facts can be recomputed
DEFAULT_RAPID_RATE_MM_MIN = 10_000.0
DEFAULT_NC_EXTENSIONS = (".nc", ".tap", ".gcode", ".ngc", ".eia", ".mpf", ".h")
LINES_KEPT = 100  # line numbers kept per warning or flag kind (the count is always whole)
SNIFF_BYTES = 8192  # a NUL byte in the first 8 KiB means binary, as for the vault's diff and blame

RAPID_BELOW_Z0 = "rapid_below_z0"
FEED_AT_F0 = "feed_at_f0"


class Range(BaseModel):
    min: float
    max: float


class Extents(BaseModel):
    """Per axis, the range of every position the program moves to (arcs' bulges included), or None when the
    program never set that axis."""

    x: Range | None = None
    y: Range | None = None
    z: Range | None = None


class ToolFacts(BaseModel):
    number: int
    comment: str | None = Field(description="The comment on the line of the T word that chose it")
    line: int = Field(description="That line (1-based)")
    feed: Range | None = Field(description="F of its feed moves, mm/min (G94 moves only)")
    spindle: Range | None = Field(description="S in force during its feed moves (S > 0 only)")
    z_min: float | None = Field(description="Lowest Z its feed moves reach, mm")
    feed_moves: int


class Lines(BaseModel):
    """One kind of warning or of construct that was not interpreted: how many lines, the first of them."""

    kind: str
    count: int
    lines: list[int] = Field(description=f"The first {LINES_KEPT} line numbers (1-based)")
    message: str = Field(description="What the first of them says")


class ProgramFacts(BaseModel):
    facts_version: int = FACTS_VERSION
    program_number: str | None = Field(description="Digits of the first O word (or `:` number)")
    units: Literal["mm", "inch", "mixed"] = Field(description="Units the moves were programmed in")
    lines: int
    end_line: int | None = Field(description="Line of the M2/M30 that ends the program")
    tools: list[ToolFacts]
    feed: Range | None = Field(description="F of every feed move, mm/min (G94 moves only)")
    spindle: Range | None = Field(description="S in force during feed moves (S > 0 only)")
    extents: Extents
    rapid_moves: int
    feed_moves: int = Field(description="Straight and arc feed moves, canned cycles' feeds included")
    arc_moves: int
    machine_moves: int = Field(description="G28/G30/G53 blocks")
    holes: int = Field(description="Holes drilled by canned cycles")
    rapid_distance_mm: float
    feed_distance_mm: float
    rapid_time_s: float
    feed_time_s: float
    dwell_time_s: float
    cycle_time_s: float = Field(description="Feeds at F, rapids at rapid_rate_mm_min, dwells; no tool changes")
    untimed_moves: int = Field(description="Feed moves left out of the time: F0 or no F, G93, G95")
    rapid_rate_mm_min: float
    warnings: list[Lines]
    uninterpreted: list[Lines]


class _Span:
    __slots__ = ("high", "low")

    def __init__(self) -> None:
        self.low = math.inf
        self.high = -math.inf

    def add(self, value: float) -> None:
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def range(self) -> Range | None:
        return Range(min=_mm(self.low), max=_mm(self.high)) if self.low <= self.high else None


class _LineLog:
    """Distinct lines of one kind (lines arrive in order), with the first message."""

    __slots__ = ("count", "last", "lines", "message")

    def __init__(self, message: str) -> None:
        self.count = 0
        self.last = 0
        self.lines: list[int] = []
        self.message = message

    def add(self, line: int) -> None:
        if line != self.last:
            self.last = line
            self.count += 1
            if len(self.lines) < LINES_KEPT:
                self.lines.append(line)


class _Tool:
    __slots__ = ("comment", "feed", "feed_moves", "line", "spindle", "z_low")

    def __init__(self, line: int, comment: str | None) -> None:
        self.line = line
        self.comment = comment
        self.feed = _Span()
        self.spindle = _Span()
        self.z_low = math.inf
        self.feed_moves = 0


def _mm(value: float) -> float:
    return round(value, 6)


def _s(value: float) -> float:
    return round(value, 3)


FOLD = 4096  # end points buffered before their extents are taken (min and max over a batch run in C)


class FactsSink:
    """Adds up the facts as the interpreter moves. Written for speed: a 20 MB program is ~800,000 moves."""

    def __init__(self, modal: Modal, rapid_rate_mm_min: float) -> None:
        self.modal = modal
        self.rapid_rate = rapid_rate_mm_min
        self.axes = (_Span(), _Span(), _Span())
        self.points: list[Point] = []  # end points with every axis known, not yet in `axes`
        self.feed = _Span()
        self.spindle = _Span()
        self.tools: dict[int, _Tool] = {}
        self.rapid_moves = self.feed_moves = self.arc_moves = self.machine_moves = self.holes = 0
        self.untimed_moves = 0
        self.rapid_distance = self.feed_distance = self.feed_time = self.dwell_time = 0.0
        self.inch_moves = self.mm_moves = 0
        self.warnings: dict[str, _LineLog] = {}
        self.flags: dict[str, _LineLog] = {}
        self.program_number: str | None = None
        self.end_line: int | None = None
        # Derived from the modal state, kept until it changes.
        self.seen = -1
        self.current: _Tool | None = None
        self.inch = False
        self.seconds_per_mm: float | None = None  # None: feed moves are not timed
        self.ranged = False  # the feed and spindle in force are in the ranges

    # -- the sink -----------------------------------------------------------------------------------------------

    def segment(self, kind: int, line: int, start: Point, end: Point, known: int, peck: bool) -> None:
        if kind == MACHINE:
            return
        if self.seen != self.modal.changes:
            self._settle()
        length = math.dist(start, end)
        if known == 7:
            self.points.append(end)
            if len(self.points) >= FOLD:
                self._fold()
        else:
            self._reach(end, known)
        if kind == RAPID:
            self.rapid_moves += 1
            self.rapid_distance += length
            if self.inch:
                self.inch_moves += 1
            else:
                self.mm_moves += 1
            if end[2] < 0 and known & Z and end[2] <= start[2] and not peck:
                self._warn(RAPID_BELOW_Z0, line, f"rapid move to Z{fmt(end[2])} mm, below Z0")
        else:
            self._feed(line, length, end[2] if known & Z else None)

    def arc(self, line: int, start: Point, end: Point, arc: Arc, known: int) -> None:
        if self.seen != self.modal.changes:
            self._settle()
        self._reach(end, known)
        z_low = end[2] if known & Z else None
        for axis, value in arc_extremes(arc):
            if known & (1 << axis):
                self.axes[axis].add(value)
                if axis == 2 and (z_low is None or value < z_low):
                    z_low = value
        n = 3 - arc.a - arc.b
        rise = end[n] - start[n]
        flat = abs(arc.sweep) * (arc.r0 + arc.r1) / 2
        self.arc_moves += 1
        self._feed(line, math.sqrt(flat * flat + rise * rise), z_low)

    def straight_moves(
        self,
        lines: Sequence[int],
        feed: Sequence[float],
        xs: Sequence[float],
        ys: Sequence[float],
        zs: Sequence[float],
        start: Point,
        feeds: Sequence[float],
    ) -> None:
        """Many straight moves at once (Interpreter.run_blocks): from `start` to each (xs[i], ys[i], zs[i]) in turn,
        all axes known, absolute, no cycle, made on `lines`; `feed` is true for G1 moves and false for rapids,
        `feeds` the F in force for each (mm/min, positive). What `segment` adds up for each, in list operations
        that run in C."""
        if self.seen != self.modal.changes:
            self._settle()
        count = len(xs)
        lengths = list(
            map(
                math.hypot,
                map(operator.sub, xs, chain((start[0],), xs)),
                map(operator.sub, ys, chain((start[1],), ys)),
                map(operator.sub, zs, chain((start[2],), zs)),
            )
        )
        cuts = int(sum(feed))  # 1.0 for each feed move
        rapids = count - cuts
        rapid = list(map(operator.not_, feed)) if rapids else []
        self.rapid_moves += rapids
        if rapids:
            self.rapid_distance += sum(compress(lengths, rapid))
            below = map(operator.and_, map(operator.lt, zs, repeat(0.0)), map(operator.le, zs, chain((start[2],), zs)))
            for line, z in compress(zip(lines, zs, strict=True), map(operator.and_, rapid, below)):
                self._warn(RAPID_BELOW_Z0, line, f"rapid move to Z{fmt(z)} mm, below Z0")
        if self.inch:
            self.inch_moves += count
        else:
            self.mm_moves += count
        for span, values in zip(self.axes, (xs, ys, zs), strict=True):
            span.add(min(values))
            span.add(max(values))
        if not cuts:
            return
        cut = list(compress(lengths, feed)) if rapids else lengths
        rates = list(compress(feeds, feed)) if rapids else feeds
        self.feed_moves += cuts
        self.feed_distance += sum(cut)
        low, high = min(rates), max(rates)
        # One F for the whole batch (most batches): the same products as per move, without a division each.
        per_mm = repeat(60.0 / low) if low == high else map(operator.truediv, repeat(60.0), rates)
        self.feed_time += sum(map(operator.mul, cut, per_mm))
        self.feed.add(low)
        self.feed.add(high)
        s = self.modal.spindle
        if s is not None and s > 0:
            self.spindle.add(s)
        tool = self.current
        if tool is not None:
            tool.feed_moves += cuts
            tool.feed.add(low)
            tool.feed.add(high)
            if s is not None and s > 0:
                tool.spindle.add(s)
            deepest = min(compress(zs, feed)) if rapids else min(zs)
            if deepest < tool.z_low:
                tool.z_low = deepest
        self.ranged = False  # the F in force after the batch is new to the ranges as far as `_feed` knows

    def dwell(self, line: int, seconds: float) -> None:
        if seconds > 0:
            self.dwell_time += seconds

    def hole(self, line: int) -> None:
        self.holes += 1

    def machine(self, line: int) -> None:
        self.machine_moves += 1

    def tool(self, number: int, line: int, comment: str | None) -> None:
        if number not in self.tools:
            self.tools[number] = _Tool(line, comment)
            self.seen = -1

    def flag(self, kind: str, line: int, message: str) -> None:
        log = self.flags.get(kind)
        if log is None:
            log = self.flags[kind] = _LineLog(message)
        log.add(line)

    def program(self, number: str, line: int) -> None:
        self.program_number = number

    def end(self, line: int) -> None:
        self.end_line = line

    # -- adding up ----------------------------------------------------------------------------------------------

    def _settle(self) -> None:
        modal = self.modal
        self.seen = modal.changes
        self.current = self.tools.get(modal.tool) if modal.tool is not None else None
        self.inch = modal.inch
        f = modal.feed
        self.seconds_per_mm = 60 / f if modal.feed_mode == 94 and f is not None and f > 0 else None
        self.ranged = False

    def _fold(self) -> None:
        if self.points:
            for span, values in zip(self.axes, zip(*self.points, strict=True), strict=True):
                span.add(min(values))
                span.add(max(values))
            self.points.clear()

    def _reach(self, end: Point, known: int) -> None:
        for axis in range(3):
            if known & (1 << axis):
                self.axes[axis].add(end[axis])

    def _feed(self, line: int, length: float, z: float | None) -> None:
        self.feed_moves += 1
        self.feed_distance += length
        if self.inch:
            self.inch_moves += 1
        else:
            self.mm_moves += 1
        tool = self.current
        if tool is not None:
            tool.feed_moves += 1
            if z is not None and z < tool.z_low:
                tool.z_low = z
        if self.seconds_per_mm is not None:
            self.feed_time += length * self.seconds_per_mm
        else:
            self.untimed_moves += 1
            if self.modal.feed_mode == 94:
                f = self.modal.feed
                self._warn(FEED_AT_F0, line, "feed move at F0" if f is not None else "feed move before any F")
        if not self.ranged:
            self.ranged = True
            self._ranges(tool)

    def _ranges(self, tool: _Tool | None) -> None:
        modal = self.modal
        if modal.feed_mode == 94 and modal.feed is not None:
            self.feed.add(modal.feed)
            if tool is not None:
                tool.feed.add(modal.feed)
        s = modal.spindle
        if s is not None and s > 0:
            self.spindle.add(s)
            if tool is not None:
                tool.spindle.add(s)

    def _warn(self, kind: str, line: int, message: str) -> None:
        log = self.warnings.get(kind)
        if log is None:
            log = self.warnings[kind] = _LineLog(message)
        log.add(line)

    def facts(self, lines: int) -> ProgramFacts:
        self._fold()
        rapid_time = self.rapid_distance / self.rapid_rate * 60
        x, y, z = (span.range() for span in self.axes)
        return ProgramFacts(
            program_number=self.program_number,
            units="mixed" if self.inch_moves and self.mm_moves else "inch" if self.inch_moves else "mm",
            lines=lines,
            end_line=self.end_line,
            tools=[
                ToolFacts(
                    number=number,
                    comment=t.comment,
                    line=t.line,
                    feed=t.feed.range(),
                    spindle=t.spindle.range(),
                    z_min=_mm(t.z_low) if t.z_low < math.inf else None,
                    feed_moves=t.feed_moves,
                )
                for number, t in self.tools.items()
            ],
            feed=self.feed.range(),
            spindle=self.spindle.range(),
            extents=Extents(x=x, y=y, z=z),
            rapid_moves=self.rapid_moves,
            feed_moves=self.feed_moves,
            arc_moves=self.arc_moves,
            machine_moves=self.machine_moves,
            holes=self.holes,
            rapid_distance_mm=_mm(self.rapid_distance),
            feed_distance_mm=_mm(self.feed_distance),
            rapid_time_s=_s(rapid_time),
            feed_time_s=_s(self.feed_time),
            dwell_time_s=_s(self.dwell_time),
            cycle_time_s=_s(rapid_time + self.feed_time + self.dwell_time),
            untimed_moves=self.untimed_moves,
            rapid_rate_mm_min=self.rapid_rate,
            warnings=_lines(self.warnings),
            uninterpreted=_lines(self.flags),
        )


def _lines(logs: dict[str, _LineLog]) -> list[Lines]:
    return [
        Lines(kind=kind, count=log.count, lines=log.lines, message=log.message) for kind, log in sorted(logs.items())
    ]


def arc_extremes(arc: Arc) -> Iterator[tuple[int, float]]:
    """(axis, value) of the points where the arc is furthest along its plane's axes (0, 90, 180 and 270 degrees
    around the centre) that lie on the arc; the radius is taken where the arc passes them."""
    turn = abs(arc.sweep)
    for quarter in range(4):
        angle = quarter * HALF_PI
        delta = math.fmod(angle - arc.a0 if arc.sweep > 0 else arc.a0 - angle, TAU)
        if delta < 0:
            delta += TAU
        if delta <= turn:
            radius = arc.r0 + (arc.r1 - arc.r0) * (delta / turn)
            if quarter % 2 == 0:
                yield arc.a, arc.centre[arc.a] + (radius if quarter == 0 else -radius)
            else:
                yield arc.b, arc.centre[arc.b] + (radius if quarter == 1 else -radius)


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head[:SNIFF_BYTES]


BLOCK_CHARS = 1 << 20  # text read and searched at a time


def _text_blocks(source: bytes | str | os.PathLike[str] | BinaryIO) -> Iterator[str] | None:
    """The program as blocks of whole lines, decoded as UTF-8 (a byte-order mark dropped, bad bytes replaced, as
    the browser's TextDecoder does); lines end at \\n only. None when the bytes are binary."""
    if isinstance(source, str):
        return _blocks_of(source)
    if isinstance(source, bytes):
        return None if _is_binary(source) else _blocks_of(source.decode("utf-8-sig", errors="replace"))
    stream: BinaryIO = open(source, "rb") if isinstance(source, os.PathLike) else source  # noqa: SIM115
    head = stream.read(SNIFF_BYTES)
    if _is_binary(head):
        if stream is not source:
            stream.close()
        return None
    stream.seek(-len(head), io.SEEK_CUR)
    return _stream_blocks(stream, close=stream is not source)


def _blocks_of(text: str) -> Iterator[str]:
    start = 0
    while start < len(text):
        cut = text.find("\n", start + BLOCK_CHARS)
        end = len(text) if cut < 0 else cut + 1
        yield text[start:end]
        start = end


def _stream_blocks(stream: BinaryIO, *, close: bool) -> Iterator[str]:
    """Blocks read a megabyte at a time: memory stays flat however large the program."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="\n")
    carry = ""
    try:
        while chunk := text.read(BLOCK_CHARS):
            chunk = carry + chunk
            cut = chunk.rfind("\n") + 1
            if cut:
                yield chunk[:cut]
            carry = chunk[cut:]
        if carry:
            yield carry
    finally:
        text.detach()
        if close:
            stream.close()


def facts_of_lines(lines: Iterable[str], *, rapid_rate_mm_min: float = DEFAULT_RAPID_RATE_MM_MIN) -> ProgramFacts:
    """The facts of a program given line by line (without batches: the reference `program_facts` is tested
    against)."""
    modal = Modal()
    sink = FactsSink(modal, rapid_rate_mm_min)
    count = Interpreter(sink, modal).run(lines)
    return sink.facts(count)


def program_facts(
    source: bytes | str | os.PathLike[str] | BinaryIO, *, rapid_rate_mm_min: float = DEFAULT_RAPID_RATE_MM_MIN
) -> ProgramFacts | None:
    """The facts of a program given as bytes, text, a path or a seekable binary stream (a path or stream is read
    once, in order, a megabyte at a time: a 2 GB file costs no more memory than a small one); None when it is not
    text."""
    blocks = _text_blocks(source)
    if blocks is None:
        return None
    modal = Modal()
    sink = FactsSink(modal, rapid_rate_mm_min)
    count = Interpreter(sink, modal).run_blocks(blocks)
    return sink.facts(count)


def is_nc_path(path: str, extensions: Iterable[str] = DEFAULT_NC_EXTENSIONS) -> bool:
    """Whether a vault path names an NC program, by its extension (`extensions` as in the NC_EXTENSIONS setting,
    lower case with the dot)."""
    suffix = PurePath(path).suffix.lower()
    return bool(suffix) and suffix in {e.lower() for e in extensions}
