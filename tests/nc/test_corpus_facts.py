"""The facts of every corpus program, computed by hand (the working is in the comments).

Times: a feed move takes length / F minutes, a rapid length / 10,000 mm/min; facts round lengths to 1e-6 mm
and times to 1 ms, so expected values are compared to that.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest

from app.nc import program_facts
from app.nc.facts import facts_of_lines

CORPUS = Path(__file__).parent / "corpus"
PI = math.pi
RAPID = 10_000  # mm/min


def rapid_s(mm: float) -> float:
    return mm / RAPID * 60


def feed_s(mm: float, f: float) -> float:
    return mm / f * 60


def rng(low: float, high: float) -> dict[str, float]:
    return {"min": low, "max": high}


def tool(number: int, comment: str | None, line: int, feed: tuple, spindle: tuple, z_min: float, moves: int) -> dict:
    return {
        "number": number,
        "comment": comment,
        "line": line,
        "feed": rng(*feed),
        "spindle": rng(*spindle),
        "z_min": z_min,
        "feed_moves": moves,
    }


def lines(kind: str, numbers: list[int], message: str) -> dict:
    return {"kind": kind, "count": len(numbers), "lines": numbers, "message": message}


# pocket_square: rapids X0Y0 (0 mm), Z5 (5), Z5 after the pocket (7); feeds Z-2 (7 at F300) and four 40 mm sides at
# F1200; G28 G91 Z0 is a machine move.
POCKET = {
    "program_number": "1001",
    "units": "mm",
    "lines": 18,
    "end_line": 17,
    "tools": [tool(1, "10MM FLAT ENDMILL", 5, (300, 1200), (8000, 8000), -2, 5)],
    "extents": {"x": rng(0, 40), "y": rng(0, 40), "z": rng(-2, 5)},
    "rapid_moves": 3,
    "feed_moves": 5,
    "arc_moves": 0,
    "machine_moves": 1,
    "holes": 0,
    "rapid_distance_mm": 12,
    "feed_distance_mm": 167,
    "rapid_time_s": rapid_s(12),
    "feed_time_s": feed_s(7, 300) + feed_s(160, 1200),
    "cycle_time_s": rapid_s(12) + feed_s(7, 300) + feed_s(160, 1200),
    "warnings": [],
    "uninterpreted": [],
}

# lathe_g18 (plane Z-X, X drawn as written): T0101 and T0202 are taken without M6. Rapids: (0,0)->(X50,Z2)
# sqrt(2504); (X0,Z0)->(X40,Z2) sqrt(1604); X55->X60 at Z-50 (5, below Z0: warned); Z-50->Z10 (60);
# (60,10)->(38,2) sqrt(548); (38,-10)->(60,10) sqrt(884). Feeds: Z2->0 (2) and X50->0 (50) at F200; Z2->-20 (22),
# a G2 quarter of R5 centred at X45 Z-20 (5pi/2), Z-25->-40 (15), a G3 quarter of R10 (centre X45 Z-50, 5pi) at
# F150; Z2->-10 (12) at F100 with T0202.
LATHE_RAPIDS = math.sqrt(2504) + math.sqrt(1604) + 5 + 60 + math.sqrt(548) + math.sqrt(884)
LATHE_F150 = 22 + 5 * PI / 2 + 15 + 5 * PI
LATHE = {
    "program_number": "2001",
    "units": "mm",
    "lines": 22,
    "end_line": 21,
    "tools": [
        tool(101, "OD ROUGH 80DEG", 4, (150, 200), (1500, 1500), -50, 6),
        tool(202, "OD FINISH", 16, (100, 100), (2000, 2000), -10, 1),
    ],
    "extents": {"x": rng(0, 60), "y": None, "z": rng(-50, 10)},
    "rapid_moves": 6,
    "feed_moves": 7,
    "arc_moves": 2,
    "rapid_distance_mm": LATHE_RAPIDS,
    "feed_distance_mm": 52 + LATHE_F150 + 12,
    "feed_time_s": feed_s(52, 200) + feed_s(LATHE_F150, 150) + feed_s(12, 100),
    "cycle_time_s": rapid_s(LATHE_RAPIDS) + feed_s(52, 200) + feed_s(LATHE_F150, 150) + feed_s(12, 100),
    "warnings": [lines("rapid_below_z0", [14], "rapid move to Z-50 mm, below Z0")],
    "uninterpreted": [],
}

# drilling: initial level Z10. G98 G81 at (10,10) and (20,10): XY rapid, down to R2 (8), feed to -5 (7), up to 10
# (15); G99 at (30,10) returns to R2 (7). G82 from Z10 (initial 10, still G99): (30,10)->(10,20) sqrt(500), R (8),
# feed 5, dwell 0.5 s, back to R2 (5). G83 from Z2 (initial 2) at (20,20): XY 10, R1 (1), pecks of 4 from R1 to -10:
# feed 4, out 4, in 4, feed 4, out 8, in 8, feed 3, back to R1 (11); then Z20 (19).
DRILL_RAPIDS = 10 + (math.sqrt(200) + 8 + 15) + (10 + 8 + 15) + (10 + 8 + 7) + 8
DRILL_RAPIDS += (math.sqrt(500) + 8 + 5) + (10 + 1 + 4 + 4 + 8 + 8 + 11) + 19
DRILLING = {
    "program_number": "3001",
    "tools": [tool(3, "8.5 DRILL", 4, (50, 100), (1200, 1200), -10, 7)],
    "extents": {"x": rng(0, 30), "y": rng(0, 20), "z": rng(-10, 20)},
    "rapid_moves": 23,
    "feed_moves": 7,
    "holes": 5,
    "rapid_distance_mm": DRILL_RAPIDS,
    "feed_distance_mm": 37,
    "feed_time_s": feed_s(26, 100) + feed_s(11, 50),
    "dwell_time_s": 0.5,
    "cycle_time_s": rapid_s(DRILL_RAPIDS) + feed_s(26, 100) + feed_s(11, 50) + 0.5,
    "warnings": [],  # the pecks go back below Z0 at rapid: expected, not warned
    "uninterpreted": [],
}

# incremental (G91 from the program origin): rapid (10,10,0) sqrt(200); Z-5 (5, below Z0: warned); feed Z-2 (2, F200);
# X20 (20, F400); G3 quarter centred (30,20) R10 (5pi); Y-10 (10); G2 R10 quarter centred (30,10) (5pi); rapid Z7 (7);
# G90 back to X0 Y0 from (30,0) (30).
INCR_F400 = 20 + 5 * PI + 10 + 5 * PI
INCREMENTAL = {
    "tools": [tool(2, "6MM ENDMILL", 4, (200, 400), (10000, 10000), -7, 5)],
    "extents": {"x": rng(0, 40), "y": rng(0, 20), "z": rng(-7, 0)},
    "rapid_moves": 4,
    "feed_moves": 5,
    "arc_moves": 2,
    "rapid_distance_mm": math.sqrt(200) + 5 + 7 + 30,
    "feed_distance_mm": 2 + INCR_F400,
    "feed_time_s": feed_s(2, 200) + feed_s(INCR_F400, 400),
    "warnings": [lines("rapid_below_z0", [7], "rapid move to Z-5 mm, below Z0")],
}

# inch: Z.1 = 2.54 mm; Z-.25 = -6.35 at F10 in/min = 254 mm/min (8.89 mm); X2 (50.8) and Y1 (25.4) at F20 = 508;
# after G21, X0 at F500 (50.8) and Z10 (16.35 rapid). Moves in both units: "mixed".
INCH = {
    "units": "mixed",
    "tools": [tool(4, "1/2 ENDMILL", 4, (254, 508), (5000, 5000), -6.35, 4)],
    "extents": {"x": rng(0, 50.8), "y": rng(0, 25.4), "z": rng(-6.35, 10)},
    "rapid_distance_mm": 2.54 + 16.35,
    "feed_distance_mm": 8.89 + 76.2 + 50.8,
    "feed_time_s": feed_s(8.89, 254) + feed_s(76.2, 508) + feed_s(50.8, 500),
}

# arcs_r_full at F600: Z-1 (2); G2 R10 half circle (0,0)->(20,0) over Y10 (10pi); G2 R-10 (20,0)->(10,-10) centred
# (20,-10), 270 degrees through X30 and Y-20 (15pi); full G3 circle centred (20,-10) (20pi); G18 full circle centred
# Z-6 X10 R5, Z down to -11 (10pi); G19 full circle centred Y-7 Z-1 R3 (6pi).
ARCS = 2 + 61 * PI
ARCS_R_FULL = {
    "tools": [tool(5, "ARC TEST", 4, (600, 600), (6000, 6000), -11, 6)],
    "extents": {"x": rng(0, 30), "y": rng(-20, 10), "z": rng(-11, 5)},
    "rapid_moves": 2,
    "feed_moves": 6,
    "arc_moves": 5,
    "feed_distance_mm": ARCS,
    "cycle_time_s": rapid_s(7) + feed_s(ARCS, 600),
}

# subprograms_macros: only G0 X0 Y0 Z5, G1 X10 (N20) and G0 Z5 run; every macro, variable and call is listed.
SUBPROGRAMS = {
    "end_line": 19,
    "rapid_moves": 2,
    "feed_moves": 1,
    "extents": {"x": rng(0, 10), "y": rng(0, 0), "z": rng(5, 5)},
    "uninterpreted": [
        lines("after_end", [20], "the program ended at line 19: what follows is not run"),
        lines("macro", [11, 12, 15], "macro statement IF: not evaluated, the line is not run"),
        lines("subprogram", [9, 10, 17], "subprogram M98: not followed"),
        lines("variable", [6, 7, 13, 14], "variables (#) are not evaluated: the line is not run"),
    ],
}

# tool_changes: T2 is chosen on a line of its own (no comment there; the comment on M6's line is not its line);
# T3 is chosen first without a comment, then again on its M6 line with one, which is the line it takes.
TC_RAPIDS = math.sqrt(901) + 20 + math.sqrt(14500) + 18 + 26 + math.sqrt(3200) + 17 + 22
TOOL_CHANGES = {
    "tools": [
        tool(1, "FACE MILL 50", 4, (500, 1500), (3000, 3000), 0, 2),
        tool(2, None, 5, (250, 900), (12000, 12000), -6, 2),
        tool(3, "CENTER DRILL - SAME LINE", 19, (80, 80), (2500, 2500), -2, 1),
    ],
    "feed": rng(80, 1500),
    "spindle": rng(2500, 12000),
    "rapid_moves": 8,
    "rapid_distance_mm": TC_RAPIDS,
    "feed_time_s": feed_s(1, 500) + feed_s(160, 1500) + feed_s(8, 250) + feed_s(80, 900) + feed_s(5, 80),
}

# dwell_home: dwells 1.5 + 0.5 + 2 s. After G28 Z the Z axis is unknown (moves at Z5 are drawn but not in the
# extents) until Z-1, a rapid below Z0 from the drawn Z5. G28, G53 and G30 are three machine moves.
DWELL_HOME = {
    "dwell_time_s": 4,
    "machine_moves": 3,
    "rapid_moves": 5,
    "rapid_distance_mm": 15 + 8 + math.sqrt(3200) + math.sqrt(5000) + 6,
    "extents": {"x": rng(0, 50), "y": rng(0, 50), "z": rng(-3, 5)},
    "cycle_time_s": rapid_s(15 + 8 + math.sqrt(3200) + math.sqrt(5000) + 6) + 8 + 4,
    "warnings": [lines("rapid_below_z0", [17], "rapid move to Z-1 mm, below Z0")],
}

G96 = "constant surface speed: S is a surface speed, not rpm"

# warnings: feed before any F (7), at F0 (8), G95 (18): three untimed moves; rapids to Z-2 at 9 and 10.
WARNINGS = {
    "untimed_moves": 3,
    "feed_time_s": 6,
    "feed": rng(0, 300),  # F0 is in the range; F.1 under G95 is not (not per minute)
    "spindle": rng(200, 4000),
    "warnings": [
        lines("feed_at_f0", [7, 8], "feed move before any F"),
        lines("rapid_below_z0", [9, 10], "rapid move to Z-2 mm, below Z0"),
    ],
    "uninterpreted": [
        lines("cutter_compensation", [12], "cutter compensation (G41): the path is drawn as programmed, not offset"),
        lines("other_axes", [15], "axis A is not drawn"),
        lines("transform", [14], "G68 changes coordinates: not applied"),
        lines("unsupported_code", [17, 18, 20], f"G96 ({G96}) is not interpreted"),
    ],
}

# lexer_edge: `:1202`, lower case, no spaces, `;` comments, block delete (run), signs and spaces inside words.
LEXER = {
    "program_number": "1202",
    "tools": [tool(9, "lowercase tool with comment", 5, (100, 200), (7000, 7000), -1, 6)],
    "feed_distance_mm": 6 + 10 + 2 * math.sqrt(100.25) + 10 + 10,
    "extents": {"x": rng(0, 50), "y": rng(-0.5, 0), "z": rng(-1, 5)},
    "uninterpreted": [lines("syntax", [14, 15], "unexpected character '.': the line is not run")],
}

# helix_planes: a full helical turn R10 down 2 mm (hypot(20pi, 2)), a G90.1 quarter down 1 mm (hypot(5pi, 1)).
HELIX = {
    "arc_moves": 2,
    "feed_distance_mm": 2 + math.hypot(20 * PI, 2) + math.hypot(5 * PI, 1) + 10,
    "extents": {"x": rng(-10, 10), "y": rng(-10, 10), "z": rng(-3, 2)},
}

EXPECTED: dict[str, dict[str, Any]] = {
    "pocket_square.nc": POCKET,
    "lathe_g18.nc": LATHE,
    "drilling.nc": DRILLING,
    "incremental.nc": INCREMENTAL,
    "inch.nc": INCH,
    "arcs_r_full.nc": ARCS_R_FULL,
    "subprograms_macros.nc": SUBPROGRAMS,
    "tool_changes.nc": TOOL_CHANGES,
    "dwell_home.nc": DWELL_HOME,
    "warnings.nc": WARNINGS,
    "lexer_edge.nc": LEXER,
    "helix_planes.nc": HELIX,
}


def approx(expected: object) -> object:
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        return pytest.approx(expected, abs=1e-3 if expected != int(expected) else 1e-6)
    if isinstance(expected, dict):
        return {k: approx(v) for k, v in expected.items()}
    if isinstance(expected, list):
        return [approx(v) for v in expected]
    return expected


def test_every_corpus_program_has_expected_facts() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.nc")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_facts(name: str) -> None:
    facts = program_facts((CORPUS / name).read_bytes())
    assert facts is not None
    got = facts.model_dump(mode="json")
    expected = EXPECTED[name]
    assert {k: got[k] for k in expected} == approx(expected)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bytes_path_stream_and_lines_give_the_same_facts(name: str) -> None:
    path = CORPUS / name
    data = path.read_bytes()
    expected = program_facts(data)
    assert program_facts(path) == expected
    assert program_facts(io.BytesIO(data)) == expected
    assert program_facts(data.replace(b"\n", b"\r\n")) == expected
    assert program_facts(b"\xef\xbb\xbf" + data) == expected  # a byte-order mark is not part of line 1
    assert facts_of_lines(data.decode().splitlines()) == expected


def test_binary_data_has_no_facts() -> None:
    assert program_facts(b"G0 X1\n\x00\x01\x02") is None


def test_rapid_rate_sets_the_rapid_time() -> None:
    data = (CORPUS / "pocket_square.nc").read_bytes()
    slow = program_facts(data, rapid_rate_mm_min=5_000)
    assert slow is not None and slow.rapid_time_s == pytest.approx(12 / 5000 * 60, abs=1e-3)
    assert slow.rapid_rate_mm_min == 5000
