"""Pure modules of the browser's NC viewer, run in Chromium: the line diff, the changed words of a line, the
machining summary of a compare, and the G-code colours of the text view."""

from __future__ import annotations

import random
from itertools import pairwise
from typing import Any

from playwright.sync_api import Page

from app.nc import program_facts
from tests.nc.conftest import CORPUS

DIFF = """async ([a, b]) => {
  const { matchLines, lineIds, sideBySide } = await import("/js/nc/diff.js");
  const table = new Map();
  const pairs = matchLines(lineIds(a, table), lineIds(b, table));
  const rows = sideBySide(pairs, a.length, b.length);
  return { pairs, left: [...rows.left], right: [...rows.right], kind: [...rows.kind], hunks: [...rows.hunks] };
}"""


def lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def test_side_by_side_rows_pair_changed_lines_and_keep_the_rest(nc_page: Page) -> None:
    a = ["%", "G0 X0", "G1 X10 F100", "G1 Y10", "M30"]
    b = ["%", "G0 X0", "G1 X10 F150", "G1 Y10", "G1 Y20", "M30"]
    got = nc_page.evaluate(DIFF, [a, b])
    # SAME 0, CHANGED 1, DELETED 2, INSERTED 3
    assert got["kind"] == [0, 0, 1, 0, 3, 0]
    assert got["left"] == [0, 1, 2, 3, -1, 4]
    assert got["right"] == [0, 1, 2, 3, 4, 5]
    assert got["hunks"] == [2, 4]


def test_the_line_diff_is_a_common_subsequence_and_the_longest_on_small_inputs(nc_page: Page) -> None:
    rng = random.Random(21)
    for _ in range(60):
        alphabet = rng.choice([3, 10, 300])
        a = [str(rng.randrange(alphabet)) for _ in range(rng.randrange(0, 60))]
        b = [str(rng.randrange(alphabet)) for _ in range(rng.randrange(0, 60))]
        pairs: list[int] = nc_page.evaluate(DIFF, [a, b])["pairs"]
        matched = list(zip(pairs[::2], pairs[1::2], strict=True))
        assert all(a[i] == b[j] for i, j in matched)
        assert all(i1 < i2 and j1 < j2 for (i1, j1), (i2, j2) in pairwise(matched))
        assert len(matched) == lcs_length(a, b)


def test_only_the_changed_words_of_a_line_are_marked(nc_page: Page) -> None:
    pieces = nc_page.evaluate(
        """async () => {
          const { wordDiff } = await import("/js/nc/words.js");
          return [wordDiff("N70 X40. F1200.", "N70 X40. F1500."), wordDiff("G1 X1 Y2 (A)", "G1 Y2 X1 (B)")];
        }"""
    )
    feed, moved = pieces
    assert [text for text, changed in feed[0] if changed] == ["F1200."]
    assert [text for text, changed in feed[1] if changed] == ["F1500."]
    assert "".join(text for text, _ in moved[0]) == "G1 X1 Y2 (A)"
    assert {text.strip() for text, changed in moved[1] if changed} >= {"(B)"}


def summary(nc_page: Page, a: dict[str, Any], b: dict[str, Any]) -> list[list[str]]:
    return nc_page.evaluate(
        """async ([a, b]) => {
          const { machiningChanges } = await import("/js/nc/summary.js");
          return machiningChanges(a, b).map((r) => [r.what, r.before, r.after]);
        }""",
        [a, b],
    )


def facts(name: str, replace: tuple[bytes, bytes] = (b"", b"")) -> dict[str, Any]:
    data = (CORPUS / name).read_bytes()
    if replace[0]:
        assert replace[0] in data
        data = data.replace(*replace)
    found = program_facts(data)
    assert found is not None
    return found.model_dump(mode="json")


def test_the_summary_lists_what_changed_in_machining_terms(nc_page: Page) -> None:
    pocket = facts("pocket_square.nc")
    assert summary(nc_page, pocket, pocket) == []
    deeper = facts("pocket_square.nc", (b"N60 G1 Z-2. F300.", b"N60 G1 Z-2.5 F300."))
    assert summary(nc_page, pocket, deeper) == [
        ["T1 lowest Z", "-2 mm", "-2.5 mm"],
        ["Lowest Z", "-2 mm", "-2.5 mm"],
        ["Estimated cycle time", "9.5 s", "9.6 s"],
    ]
    retooled = facts("pocket_square.nc", (b"N20 T1 M6 (10MM FLAT ENDMILL)", b"N20 T2 M6 (8MM FLAT ENDMILL)"))
    assert summary(nc_page, pocket, retooled) == [
        ["T1 removed", "T1 (10MM FLAT ENDMILL)", "\N{EN DASH}"],
        ["T2 added", "\N{EN DASH}", "T2 (8MM FLAT ENDMILL)"],
    ]
    warned = facts("pocket_square.nc", (b"N110 G0 Z5.", b"N110 G0 Z-3."))
    rows = summary(nc_page, pocket, warned)
    assert ["Rapid below Z0", "0 lines", "1 line"] in rows


def test_g_code_colours(nc_page: Page) -> None:
    pieces = nc_page.evaluate(
        """async () => {
          const { colourLine } = await import("/js/nc/highlight.js");
          return colourLine("/N10 G1 X-1.5 Y2 I3 F200 S1000 T1 M6 #1=2 (NOTE) ; END");
        }"""
    )
    assert pieces == [
        ["delete", "/"],
        ["seq", "N10"],
        ["", " "],
        ["g", "G1"],
        ["", " "],
        ["axis", "X-1.5"],
        ["", " "],
        ["axis", "Y2"],
        ["", " "],
        ["arc", "I3"],
        ["", " "],
        ["feed", "F200"],
        ["", " "],
        ["speed", "S1000"],
        ["", " "],
        ["tool", "T1"],
        ["", " "],
        ["m", "M6"],
        ["", " "],
        ["macro", "#"],
        ["", "1"],
        ["macro", "="],
        ["", "2 "],
        ["comment", "(NOTE)"],
        ["", " "],
        ["comment", "; END"],
    ]


def test_word_numbers_read_exactly_as_parse_float(nc_page: Page) -> None:
    rng = random.Random(7)
    words = ["0", "1.", ".5", "-.5", "+3", "10.", "-0.0001", "123456789012345", "1234567890.12345", "0.1"]
    for _ in range(20000):
        whole = str(rng.randrange(10 ** rng.randrange(0, 9)))
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 8)))
        sign = rng.choice(["", "-", "+"])
        words.append(sign + whole + ("." + fraction if fraction or rng.random() < 0.3 else ""))
    words += ["1234567890123456.7", "99999999999999999", "0.00000000000000001"]  # over 15 digits: parseFloat
    wrong = nc_page.evaluate(
        """async (words) => {
          const { wordNumber } = await import("/js/nc/interpret.js");
          return words.filter((w) => !Object.is(wordNumber(w), parseFloat(w)));
        }""",
        words,
    )
    assert wrong == []
    assert [float(w) for w in words[:10]] == nc_page.evaluate(
        "async (ws) => { const { wordNumber } = await import('/js/nc/interpret.js'); return ws.map(wordNumber); }",
        words[:10],
    )


def test_a_program_read_in_pieces_has_the_facts_of_the_whole(nc_page: Page) -> None:
    """The worker parses a download as it arrives: any cut of the text into pieces gives the same facts."""
    names = sorted(p.name for p in CORPUS.glob("*.nc"))
    same = nc_page.evaluate(
        """async (names) => {
          const { FactsSink, programFacts } = await import("/js/nc/facts.js");
          const { Interpreter, Modal, ProgramStream } = await import("/js/nc/interpret.js");
          const out = [];
          let seed = 1;
          const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
          for (const name of names) {
            const text = await (await fetch(`/corpus/${name}`)).text();
            for (let round = 0; round < 5; round += 1) {
              const modal = new Modal();
              const sink = new FactsSink(modal, 10000);
              const stream = new ProgramStream(new Interpreter(sink, modal));
              for (let at = 0; at < text.length; ) {
                const size = 1 + Math.floor(next() * 40);
                stream.push(text.slice(at, at + size));
                at += size;
              }
              out.push(JSON.stringify(sink.facts(stream.end())) === JSON.stringify(programFacts(text)));
            }
          }
          return out;
        }""",
        names,
    )
    assert same and all(same)
