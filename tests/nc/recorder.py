"""A sink that writes down every move, for tests that compare geometry (the browser's twin is in
tests/nc/harness.js)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from app.nc.interpreter import MACHINE, RAPID, Arc, Interpreter, Point

CASES = json.loads((Path(__file__).parent / "geometry_cases.json").read_text())["cases"]
KINDS = {RAPID: "rapid", MACHINE: "machine"}


class Recorder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def segment(self, kind: int, line: int, start: Point, end: Point, known: int, peck: bool) -> None:
        self.records.append({"type": KINDS.get(kind, "feed"), "line": line, "end": list(end), "peck": peck})

    def arc(self, line: int, start: Point, end: Point, arc: Arc, known: int) -> None:
        self.records.append(
            {
                "type": "arc",
                "line": line,
                "end": list(end),
                "centre": list(arc.centre),
                "sweep_deg": math.degrees(arc.sweep),
                "r0": arc.r0,
                "r1": arc.r1,
            }
        )

    def dwell(self, line: int, seconds: float) -> None:
        self.records.append({"type": "dwell", "line": line, "seconds": seconds})

    def hole(self, line: int) -> None:
        self.records.append({"type": "hole", "line": line})

    def machine(self, line: int) -> None:
        self.records.append({"type": "home", "line": line})

    def tool(self, number: int, line: int, comment: str | None) -> None:
        self.records.append({"type": "tool", "line": line, "number": number, "comment": comment})

    def flag(self, kind: str, line: int, message: str) -> None:
        self.records.append({"type": "flag", "line": line, "kind": kind})

    def program(self, number: str, line: int) -> None:
        self.records.append({"type": "program", "line": line, "number": number})

    def end(self, line: int) -> None:
        self.records.append({"type": "end", "line": line})


def record(lines: list[str]) -> list[dict[str, Any]]:
    recorder = Recorder()
    Interpreter(recorder).run(lines)
    return recorder.records


def select(records: list[dict[str, Any]], types: list[str]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] in types]


def close(actual: object, expected: object, tolerance: float = 1e-6) -> bool:
    """Equal, numbers to `tolerance` (absolute), through lists and dicts."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return actual == expected
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and not isinstance(actual, bool) and abs(actual - expected) <= tolerance
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(close, actual, expected))
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(close(actual[k], v, tolerance) for k, v in expected.items())
        )
    raise TypeError(type(expected))
