"""Program facts of large NC programs (issue 21): an upload or check-in of a program over NC_FACTS_INLINE_BYTES
answers without waiting for its parse (`facts: null`, `facts_pending: true`), its facts are stored right after the
commit, equal to what the inline path computes; the sweep's backstop computes those a lost task left behind; a
parser that raises leaves a version without facts (never a failed upload), and `camvault reindex` fills them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import app.vault.program_facts as program_facts_module
from app.core.config import Settings
from app.models import Role
from app.nc import ProgramFacts
from app.services.facts_backstop import GRACE, FactsBackstop
from bench.nc_program import program
from tests.api.test_program_facts import POCKET, Headers, facts_of
from tests.cli import camvault_async
from tests.conftest import Login, MakeUser, sql
from tests.vault import new_version, upload

INLINE_BYTES = 4096  # POCKET (~300 bytes) is under it
LARGE = program(40_000)  # a CAM-shaped program of 40 kB: over it
LARGER = program(60_000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"edit_cooldown_seconds": 0, "nc_facts_inline_bytes": INLINE_BYTES})


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> Headers:
    await make_user("anna", Role.user)
    return await login("anna")


async def eventually(probe: Callable[[], Awaitable[Any]], what: str, deadline_s: float = 60.0) -> Any:
    """Poll until `probe` gives something truthy, or fail after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        await asyncio.sleep(0.05)


async def facts_rows(db: AsyncSession) -> dict[tuple[str, int], Any]:
    rows = await sql(
        db,
        "SELECT v.path, v.version, x.facts FROM version_facts x JOIN file_versions v ON v.id = x.version_id",
    )
    await db.commit()  # a fresh snapshot at the next call
    return {(path, version): facts for path, version, facts in rows}


async def test_a_large_program_answers_at_once_and_its_facts_follow_equal_to_the_inline_ones(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession
) -> None:
    assert len(LARGE) > INLINE_BYTES > len(POCKET)
    r = await upload(client, anna, {"big.nc": LARGE, "small.nc": POCKET})
    assert r.status_code == 201, r.text
    answer = {f["path"]: f for f in r.json()["files"]}
    # Under the threshold: the facts are in the answer, as before.
    assert answer["small.nc"]["facts"] == facts_of(POCKET) and answer["small.nc"]["facts_pending"] is False
    # Over it: the answer does not wait for them, and says they are coming.
    assert answer["big.nc"]["facts"] is None and answer["big.nc"]["facts_pending"] is True
    big = answer["big.nc"]["id"]

    async def facts_shown() -> Any:
        meta = (await client.get(f"/api/files/{big}", headers=anna)).json()
        return meta if meta["facts"] is not None else None

    meta = await eventually(facts_shown, "the large program's facts")
    assert meta["facts"] == facts_of(LARGE) and meta["facts_pending"] is False
    history = (await client.get(f"/api/files/{big}/versions", headers=anna)).json()["items"]
    assert [(v["facts"], v["facts_pending"]) for v in history] == [(facts_of(LARGE), False)]
    listed = (await client.get("/api/files", params={"facts": "true"}, headers=anna)).json()["items"]
    assert {f["path"]: f["facts_pending"] for f in listed} == {"big.nc": False, "small.nc": False}
    assert (await facts_rows(db))[("big.nc", 1)] == facts_of(LARGE)

    # A check-in of a large program: the same.
    done = await new_version(client, anna, big, LARGER)
    assert done["file"]["facts"] is None and done["file"]["facts_pending"] is True
    history = (await client.get(f"/api/files/{big}/versions", headers=anna)).json()["items"]
    assert history[0]["version"] == 2 and history[0]["facts_pending"] in (True, False)  # may be done already
    meta = await eventually(facts_shown_of_version(client, anna, big, 2), "the new version's facts")
    assert meta["facts"] == facts_of(LARGER) and meta["facts_pending"] is False


def facts_shown_of_version(
    client: httpx.AsyncClient, anna: Headers, file_id: int, version: int
) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        meta = (await client.get(f"/api/files/{file_id}", headers=anna)).json()
        return meta if meta["version"] == version and meta["facts"] is not None else None

    return probe


async def test_pending_only_while_the_server_answers_for_them(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession, settings: Settings
) -> None:
    """A binary file over the threshold never gets facts: pending for the backstop's window, then not."""
    blob = b"\x00" * (INLINE_BYTES + 1)
    r = await upload(client, anna, {"blob.nc": blob, "notes.txt": LARGE})
    answer = {f["path"]: f for f in r.json()["files"]}
    assert answer["blob.nc"]["facts_pending"] is True
    assert answer["notes.txt"]["facts_pending"] is False  # not an NC program
    listed = (await client.get("/api/files", params={"facts": "true"}, headers=anna)).json()["items"]
    assert {f["path"]: (f["facts_summary"], f["facts_pending"]) for f in listed} == {
        "blob.nc": (None, True),  # the file list shows `…`, not empty cells
        "notes.txt": (None, False),
    }
    await db.execute(text("UPDATE file_versions SET created_at = created_at - interval '2 hours'"))
    await db.execute(text("UPDATE files SET updated_at = updated_at - interval '2 hours'"))
    await db.commit()
    meta = (await client.get(f"/api/files/{answer['blob.nc']['id']}", headers=anna)).json()
    assert meta["facts"] is None and meta["facts_pending"] is False
    versions = (await client.get(f"/api/files/{answer['blob.nc']['id']}/versions", headers=anna)).json()["items"]
    assert [v["facts_pending"] for v in versions] == [False]


def raising(*args: object, **kwargs: object) -> ProgramFacts | None:
    raise RuntimeError("a parser bug")


async def test_a_parser_that_raises_leaves_versions_without_facts_and_reindex_fills_them(
    client: httpx.AsyncClient,
    anna: Headers,
    db: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The seam: our own pure parse function, as the write pipeline calls it (no database, Git or bus is faked).
    monkeypatch.setattr(program_facts_module, "program_facts", raising)
    with caplog.at_level(logging.ERROR, logger="app.vault.program_facts"):
        r = await upload(client, anna, {"op10.nc": POCKET, "big.nc": LARGE})
        assert r.status_code == 201, r.text
        answer = {f["path"]: f for f in r.json()["files"]}
        assert answer["op10.nc"]["facts"] is None and answer["op10.nc"]["facts_pending"] is False
        done = await new_version(client, anna, answer["op10.nc"]["id"], POCKET + b"(V2)\n")
        assert done["new_version"] is True and done["file"]["version"] == 2 and done["file"]["facts"] is None

        # The large program's after-commit task fails the same way: logged, the version stays.
        def failed_for(path: str) -> bool:
            return any(
                rec.levelno == logging.ERROR and "program facts failed" in rec.getMessage() and path in rec.getMessage()
                for rec in caplog.records
            )

        async def both_failed() -> bool:
            return failed_for("path=op10.nc") and failed_for("path=big.nc")

        await eventually(both_failed, "the failures logged at error level with the path")
    assert any("version_id=" in rec.getMessage() for rec in caplog.records if "path=big.nc" in rec.getMessage())
    versions = await sql(db, "SELECT path, version FROM file_versions ORDER BY path, version")
    assert versions == [("big.nc", 1), ("op10.nc", 1), ("op10.nc", 2)]
    assert await facts_rows(db) == {}

    # The parser works again: reindex (the real command) computes what is missing, equal to an upload's facts.
    monkeypatch.undo()
    ran = await camvault_async(settings, "reindex")
    assert ran.returncode == 0, ran.stderr
    assert "program facts of 3 versions computed" in ran.stdout, ran.stdout
    assert await facts_rows(db) == {
        ("big.nc", 1): facts_of(LARGE),
        ("op10.nc", 1): facts_of(POCKET),
        ("op10.nc", 2): facts_of(POCKET + b"(V2)\n"),
    }


async def test_the_backstop_computes_what_a_lost_task_left_behind_once_per_worker(
    client: httpx.AsyncClient, anna: Headers, db: AsyncSession, settings: Settings, app: Any
) -> None:
    r = await upload(client, anna, {"big.nc": LARGE, "blob.nc": b"\x00" * (INLINE_BYTES + 1)})
    big = next(f for f in r.json()["files"] if f["path"] == "big.nc")
    await eventually(facts_shown_of_version(client, anna, big["id"], 1), "the after-commit facts")
    # As if the worker had died before its task stored them.
    await db.execute(text("DELETE FROM version_facts"))
    await db.commit()
    made = (await sql(db, "SELECT max(created_at) FROM file_versions"))[0][0]
    await db.commit()
    assert isinstance(made, datetime)
    backstop = FactsBackstop()
    store = app.state.store
    # Within the grace its own task is trusted: nothing is done.
    assert await backstop.run(app.state.sessionmaker, settings, store, now=made + GRACE / 2) == 0
    backstop = FactsBackstop()
    assert await backstop.run(app.state.sessionmaker, settings, store, now=made + GRACE + timedelta(seconds=1)) == 1
    assert await facts_rows(db) == {("big.nc", 1): facts_of(LARGE)}
    # The binary one was tried once; this worker does not parse it again (doctor and reindex deal with it).
    assert await backstop.run(app.state.sessionmaker, settings, store, now=made + GRACE * 3) == 0
    assert len(backstop.tried) == 2
    # Past the window, versions are left to `camvault reindex`.
    late = FactsBackstop()
    await db.execute(text("DELETE FROM version_facts"))
    await db.commit()
    assert await late.run(app.state.sessionmaker, settings, store, now=datetime.now(UTC) + timedelta(hours=2)) == 0


async def test_doctor_warns_about_nc_versions_without_facts_and_reindex_clears_it(
    client: httpx.AsyncClient,
    anna: Headers,
    db: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MIN_FREE_DISK_BYTES", "0")  # this machine's free space is not under test here
    await upload(client, anna, {"a.nc": POCKET, "b.nc": POCKET + b"(B)\n", "c.nc": POCKET + b"(C)\n"})
    await upload(client, anna, {"notes.txt": b"G0 X1\n"})
    clean = await camvault_async(settings, "doctor")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert any(line.split()[:2] == ["ok", "facts"] for line in clean.stdout.splitlines()), clean.stdout

    # Made ten minutes ago: a: no facts (a failed parse, a lost task), b: facts of an older parser. c lost its facts
    # just now: too young to count (its facts may be on their way).
    await db.execute(text("UPDATE file_versions SET created_at = now() - interval '10 minutes' WHERE path <> 'c.nc'"))
    await db.execute(
        text(
            "DELETE FROM version_facts WHERE version_id IN "
            "(SELECT id FROM file_versions WHERE path IN ('a.nc', 'c.nc'))"
        )
    )
    await db.execute(
        text(
            "UPDATE version_facts SET facts_version = 0 "
            "WHERE version_id = (SELECT id FROM file_versions WHERE path = 'b.nc')"
        )
    )
    await db.commit()
    warned = await camvault_async(settings, "doctor")
    assert warned.returncode == 0, warned.stdout + warned.stderr  # a warning, not a problem
    lines = warned.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["warning", "facts"])
    assert "2 versions of NC programs lack program facts" in lines[at], warned.stdout
    assert lines[at + 1].strip().startswith("fix: run `camvault reindex`"), warned.stdout
    assert lines[-1] == "no problems found", warned.stdout

    ran = await camvault_async(settings, "reindex")
    assert ran.returncode == 0, ran.stderr
    assert "program facts of 3 versions computed" in ran.stdout, ran.stdout
    after = await camvault_async(settings, "doctor")
    assert after.returncode == 0 and any(line.split()[:2] == ["ok", "facts"] for line in after.stdout.splitlines())
