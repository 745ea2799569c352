"""`program_facts` reads plain G0/G1 lines in batches (Interpreter.run_blocks); `facts_of_lines` reads every line
on its own. They must agree on every program: the corpus, a large CAM-shaped program, and random programs that
mix plain lines with everything that must break a batch (odd spacing, words out of order, lower case, bad numbers,
F0, arcs, incremental moves, inch, cycles, homing, the end of the program)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.nc import program_facts
from app.nc.facts import BLOCK_CHARS, ProgramFacts, facts_of_lines
from bench.nc_program import program
from tests.nc.test_agreement import differences

CORPUS = Path(__file__).parent / "corpus"


def same_facts(data: bytes) -> list[str]:
    batched = program_facts(data)
    assert batched is not None
    one_by_one = facts_of_lines(data.decode("utf-8-sig").split("\n")[: batched.lines])
    return differences(one_by_one.model_dump(mode="json"), batched.model_dump(mode="json"))


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.nc")))
def test_corpus_programs_read_the_same_in_batches(name: str) -> None:
    assert same_facts((CORPUS / name).read_bytes()) == []


def test_a_large_program_reads_the_same_in_batches_across_blocks() -> None:
    data = program(3 * BLOCK_CHARS)  # several blocks, cut inside runs of plain lines
    assert same_facts(data) == []
    assert same_facts(data.replace(b"\n", b"\r\n")) == []


def random_line(rng: random.Random) -> str:
    axes = [f"{letter}{rng.choice(['', '-', '+'])}{rng.uniform(0, 60):.{rng.randint(0, 4)}f}" for letter in "XYZ"]
    plain = [a for a in axes if rng.random() < 0.7]
    if rng.random() < 0.3:
        plain.insert(0, rng.choice(["G0", "G1", "G00", "G01"]))
    if rng.random() < 0.2:
        plain.append(f"F{rng.choice([0, 100, 250.5, 1200])}")
    if rng.random() < 0.1:
        plain.insert(0, f"N{rng.randint(1, 9999)}")
    odd = [
        lambda: " ".join(reversed(plain)),  # words out of order
        lambda: "  ".join(plain),  # two spaces
        lambda: "".join(plain),  # none
        lambda: " ".join(plain).lower(),
        lambda: " ".join(plain) + " (COMMENT)",
        lambda: " ".join([*plain, "X1.2.3"]),
        lambda: " ".join(plain) + "\r",
        lambda: f"G2 X{rng.uniform(0, 20):.3f} Y{rng.uniform(0, 20):.3f} R{rng.uniform(5, 30):.2f}",
        lambda: f"G3 X{rng.uniform(0, 20):.3f} Y0 I-5 J0",
        lambda: rng.choice(["G91", "G90", "G20", "G21", "G17", "G18", "G94", "G95"]),
        lambda: f"T{rng.randint(1, 4)} M6 (TOOL)",
        lambda: f"S{rng.randint(0, 12000)} M3",
        lambda: "G98 G81 X5 Y5 Z-3 R1 F100",
        lambda: "G80",
        lambda: "G28 G91 Z0",
        lambda: "G53 G0 Z0",
        lambda: "#100=1",
        # Lines shaped like plain ones whose words do not pair with their numbers, or whose numbers do not read
        # (the column reader must hand them to the lexer).
        lambda: f"5X{rng.uniform(0, 20):.3f} Y2.",
        lambda: f"X Y{rng.uniform(0, 20):.3f}",
        lambda: f"X 5Y{rng.uniform(0, 20):.3f}",
        lambda: f"X{rng.uniform(0, 20):.3f} Y",
        lambda: f"N1.2.3 X{rng.uniform(0, 20):.3f}",
        lambda: f"N X{rng.uniform(0, 20):.3f}",
        lambda: f"X+-1 Y{rng.uniform(0, 20):.3f}",
        lambda: f"G001 X{rng.uniform(0, 20):.3f}",
        lambda: f"G1. X{rng.uniform(0, 20):.3f}",
        lambda: f"X{rng.uniform(0, 20):.3f}\r Y2.",
        lambda: f"G1X{rng.uniform(0, 20):.3f}Y{rng.uniform(0, 20):.3f}F{rng.choice([0, 300])}",
        lambda: f"N10G0X{rng.uniform(0, 20):.3f} ",
        lambda: "G1",
        lambda: "F0",
        lambda: "N20",
        lambda: "",
        lambda: "%",
    ]
    if rng.random() < 0.75:
        return " ".join(plain)
    return str(rng.choice(odd)())


@pytest.mark.parametrize("seed", range(40))
def test_random_programs_read_the_same_in_batches(seed: int) -> None:
    rng = random.Random(seed)
    lines = [random_line(rng) for _ in range(rng.randint(50, 800))]
    if rng.random() < 0.3:
        lines.insert(rng.randrange(len(lines)), "M30")
    assert same_facts("\n".join(lines).encode()) == []


def test_batches_do_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The large program's plain lines really go through batches (otherwise the tests above prove nothing)."""
    calls: list[int] = []
    from app.nc.facts import FactsSink

    original = FactsSink.straight_moves

    def counting(self: FactsSink, lines: object, *args: object) -> None:
        calls.append(len(lines))  # type: ignore[arg-type]
        original(self, lines, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(FactsSink, "straight_moves", counting)
    facts = program_facts(program(BLOCK_CHARS))
    assert isinstance(facts, ProgramFacts)
    assert sum(calls) > 0.9 * facts.lines
