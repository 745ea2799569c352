"""The browser's parser (app/static/js/nc/, run in Chromium) and the server's (app/nc/) agree: the same facts for
every corpus program, and the same hand-computed geometry for every case of geometry_cases.json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page

from app.nc import program_facts
from tests.nc.conftest import CORPUS
from tests.nc.recorder import CASES, close, select

NAMES = sorted(p.name for p in CORPUS.glob("*.nc"))

JS_FACTS = """async (names) => {
  const { programFacts } = await import("/js/nc/facts.js");
  const out = {};
  for (const name of names) {
    const bytes = await (await fetch(`/corpus/${name}`)).arrayBuffer();
    out[name] = programFacts(new TextDecoder().decode(bytes));
  }
  return out;
}"""

JS_GEOMETRY = """async (cases) => {
  const { Interpreter, RAPID, MACHINE, runProgram } = await import("/js/nc/interpret.js");
  const kinds = { [RAPID]: "rapid", [MACHINE]: "machine" };
  return cases.map((c) => {
    const records = [];
    const sink = {
      segment: (kind, line, start, end, known, peck) => records.push({ type: kinds[kind] || "feed", line, end, peck }),
      arc: (line, start, end, arc) => records.push({ type: "arc", line, end, centre: arc.centre,
        sweep_deg: (arc.sweep * 180) / Math.PI, r0: arc.r0, r1: arc.r1 }),
      dwell: (line, seconds) => records.push({ type: "dwell", line, seconds }),
      hole: (line) => records.push({ type: "hole", line }),
      machine: (line) => records.push({ type: "home", line }),
      tool: (number, line, comment) => records.push({ type: "tool", line, number, comment }),
      flag: (kind, line) => records.push({ type: "flag", line, kind }),
      program: (number, line) => records.push({ type: "program", line, number }),
      end: (line) => records.push({ type: "end", line }),
    };
    runProgram(c.program.join("\\n"), new Interpreter(sink));
    return records;
  });
}"""


@pytest.fixture(scope="module")
def browser_facts(nc_page: Page) -> dict[str, Any]:
    return dict(nc_page.evaluate(JS_FACTS, NAMES))


def differences(server: object, browser: object, path: str = "") -> list[str]:
    """Where two facts documents differ; numbers may differ by rounding in the last digit kept."""
    if isinstance(server, dict) and isinstance(browser, dict):
        keys = sorted(set(server) | set(browser))
        pairs = [(server.get(k, "<missing>"), browser.get(k, "<missing>"), f"{path}.{k}") for k in keys]
        return [d for s, b, p in pairs for d in differences(s, b, p)]
    if isinstance(server, list) and isinstance(browser, list) and len(server) == len(browser):
        pairs = [(s, b, f"{path}[{i}]") for i, (s, b) in enumerate(zip(server, browser, strict=True))]
        return [d for s, b, p in pairs for d in differences(s, b, p)]
    numbers = (int, float)
    if isinstance(server, numbers) and isinstance(browser, numbers) and not isinstance(server, bool):
        return [] if abs(server - browser) <= 1e-6 * max(1.0, abs(server)) else [f"{path}: {server} != {browser}"]
    return [] if server == browser else [f"{path}: {server!r} != {browser!r}"]


@pytest.mark.parametrize("name", NAMES)
def test_browser_and_server_facts_agree(name: str, browser_facts: dict[str, Any]) -> None:
    server = program_facts((CORPUS / name).read_bytes())
    assert server is not None
    assert differences(server.model_dump(mode="json"), browser_facts[name]) == []


def test_the_comparison_notices_a_difference(browser_facts: dict[str, Any]) -> None:
    facts = json.loads(json.dumps(browser_facts["drilling.nc"]))
    facts["tools"][0]["feed"]["max"] += 0.01
    server = program_facts((CORPUS / "drilling.nc").read_bytes())
    assert server is not None
    assert differences(server.model_dump(mode="json"), facts) == [".tools[0].feed.max: 100.0 != 100.01"]


def test_browser_geometry_matches_the_hand_computed_cases(nc_page: Page) -> None:
    results = nc_page.evaluate(JS_GEOMETRY, CASES)
    wrong = [
        f"{case['name']}:\n got {select(got, case['types'])}\nwant {case['expect']}"
        for case, got in zip(CASES, results, strict=True)
        if not close(select(got, case["types"]), case["expect"])
    ]
    assert wrong == []
