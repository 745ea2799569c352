from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import ROOT
from app.core.db import MIGRATION_LOCK
from app.services.database_checks import revisions
from tests.db import create_database, drop_database, to_asyncpg_dsn
from tests.live_server import server_env


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))
        names = {r[0] for r in rows}
    await engine.dispose()
    return names


def test_upgrade_check_downgrade_upgrade(server_url: str) -> None:
    url = asyncio.run(create_database(server_url, prefix="mig"))
    try:
        config = _config(url)
        command.upgrade(config, "head")
        command.check(config)  # raises when models and migrations disagree
        assert {"users", "revoked_tokens", "audit_events", "alembic_version"} <= asyncio.run(_tables(url))
        command.downgrade(config, "base")
        assert asyncio.run(_tables(url)) == {"alembic_version"}
        command.upgrade(config, "head")
        command.check(config)
    finally:
        asyncio.run(drop_database(url))


async def test_replicas_starting_together_migrate_one_at_a_time(server_url: str, tmp_path: Path) -> None:
    """Four `alembic upgrade head` processes on one empty database, as when four app replicas start at once.

    The test holds the migration lock first, so all four are certainly running before any migrates, and
    sees each of them queue on it (pg_locks); then it lets go. Without the lock they would race on the
    same CREATE TABLEs and all but one would fail.
    """
    url = await create_database(server_url, prefix="migrace")
    conn = await asyncpg.connect(to_asyncpg_dsn(url))
    env = {**server_env(url, tmp_path / "data"), "ENV": "development"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        for i in range(4):
            procs.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "alembic"), "-c", str(ROOT / "alembic.ini"), "upgrade", "head"],
                    cwd=tmp_path,
                    env=env,
                    stdout=(tmp_path / f"alembic{i}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        waiting = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        deadline = time.monotonic() + 60
        while await conn.fetchval(waiting) < len(procs):
            assert all(p.poll() is None for p in procs), "a migration ran without waiting for the lock"
            assert time.monotonic() < deadline, "the migrations never queued on the lock"
            await asyncio.sleep(0.05)
        assert await conn.fetchval("SELECT to_regclass('users')") is None  # nobody got past the lock
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        codes = [await asyncio.to_thread(p.wait, 120) for p in procs]
        logs = [(tmp_path / f"alembic{i}.log").read_text() for i in range(len(procs))]
        assert codes == [0] * len(procs), logs
        # One of them migrated; the others found the database at head and did nothing.
        assert sum("Running upgrade  -> " in log for log in logs) == 1, logs
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
        assert await conn.fetchval("SELECT to_regclass('users')") is not None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        await conn.close()
        await drop_database(url)


def test_the_lifecycle_migration_puts_existing_files_in_wip_and_goes_back(server_url: str) -> None:
    """0009 on an install with files: every file `wip` with no revision, nobody an approver; down and up again."""
    url = asyncio.run(create_database(server_url, prefix="mig10"))

    async def run(*statements: str) -> list[list[tuple[object, ...]]]:
        conn = await asyncpg.connect(to_asyncpg_dsn(url))
        try:
            return [[tuple(r) for r in await conn.fetch(s)] for s in statements]
        finally:
            await conn.close()

    try:
        config = _config(url)
        command.upgrade(config, "0006")
        asyncio.run(
            run(
                "INSERT INTO users (username, password_hash, role) VALUES ('anna', 'x', 'user')",
                "INSERT INTO files (path, path_key, size, blob_sha, head_commit, version, created_by) "
                "VALUES ('jobs/op10.nc', 'jobs/op10.nc', 3, 'b', 'c', 2, 1), ('op20.nc', 'op20.nc', 1, 'b', 'c', 1, 1)",
            )
        )
        command.upgrade(config, "head")
        files, users = asyncio.run(
            run("SELECT path, state, revision_id FROM files ORDER BY path", "SELECT username, is_approver FROM users")
        )
        assert files == [("jobs/op10.nc", "wip", None), ("op20.nc", "wip", None)]
        assert users == [("anna", False)]
        assert {"file_revisions", "reviews", "review_approvals"} <= asyncio.run(_tables(url))
        command.check(config)

        command.downgrade(config, "0006")
        assert not {"file_revisions", "reviews", "review_approvals"} & asyncio.run(_tables(url))
        [columns] = asyncio.run(
            run("SELECT column_name FROM information_schema.columns WHERE table_name = 'files' ORDER BY 1")
        )
        assert ("state",) not in columns and ("revision_id",) not in columns
        assert asyncio.run(run("SELECT count(*) FROM files")) == [[(2,)]]
        command.upgrade(config, "head")
        assert asyncio.run(run("SELECT DISTINCT state FROM files")) == [[("wip",)]]
    finally:
        asyncio.run(drop_database(url))


def test_the_start_up_check_knows_the_same_head_and_revisions_as_alembic() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_config("postgresql+asyncpg://unused@/unused"))
    assert revisions() == (scripts.get_current_head(), frozenset(s.revision for s in scripts.walk_revisions()))


def test_serving_does_not_import_alembic() -> None:
    # A worker imports the app and runs the start-up check; Alembic is for `camvault migrate` and doctor only.
    probe = (
        "import sys, app.main\n"
        "from app.services.database_checks import revisions\n"
        "revisions()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]", done.stdout
