"""The Python parser against hand-computed geometry (tests/nc/geometry_cases.json): arc centres by I/J/K and by
R in all three planes, full circles, helices, incremental moves, unit switches, drilling cycles with G98/G99,
pecks, dwells and machine moves. The browser's parser runs the same cases in tests/nc/test_agreement.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.nc.recorder import CASES, close, record, select


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_geometry_matches_the_hand_computed_case(case: dict[str, Any]) -> None:
    got = select(record(case["program"]), case["types"])
    assert close(got, case["expect"]), f"{case['name']}:\n got {got}\nwant {case['expect']}"


def test_the_comparison_is_strict_enough_to_fail() -> None:
    case = CASES[0]
    wrong = [dict(case["expect"][0], centre=[0, 0.001, 0])]
    assert not close(select(record(case["program"]), case["types"]), wrong)
