"""Checks of the database the app is about to use: migrated to this code's schema, and connected as a role that
cannot rewrite the audit trail. Run at start-up (app/main.py) and by `camvault doctor`."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.repositories.database import audit_guard, schema_revision

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
START_CHECK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Finding:
    """One problem: what is wrong and what to do about it. `fatal`: the app must not serve like this;
    `fatal_in_production`: nor with ENV=production."""

    problem: str
    fix: str
    fatal: bool = False
    fatal_in_production: bool = False


MIGRATIONS = ROOT / "alembic" / "versions"
_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=]*)?=\s*(?:None|['\"]([^'\"]+)['\"])\s*$", re.MULTILINE)


@lru_cache
def revisions() -> tuple[str | None, frozenset[str]]:
    """(head, every known revision) of the migrations shipped with this code, read from the migration files'
    `revision` and `down_revision` lines (a straight line of single parents, as ours is).

    Not through Alembic: importing it cost every worker about 9 MiB and 0.14 s of CPU at start for two strings.
    tests/test_migrations.py checks this answer against Alembic's own on every run.
    """
    parents: dict[str, str | None] = {}
    for path in sorted(MIGRATIONS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            raise RuntimeError(f"{path.name}: no single `revision` and `down_revision` line")
        parents[revision.group(1)] = down.group(1)
    heads = set(parents) - set(parents.values())
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have more than one head: {sorted(heads)}")
    return (heads.pop() if heads else None), frozenset(parents)


async def migration_findings(session: AsyncSession) -> list[Finding]:
    head, known = revisions()
    current = await schema_revision(session)
    if current == head:
        return []
    if current is None:
        return [Finding("the database is not migrated", "run `camvault migrate` (compose: the migrate service)", True)]
    if current in known:
        return [
            Finding(
                f"the database schema is at revision {current}, this code needs {head}",
                "run `camvault migrate` (compose: `docker compose up -d` runs the migrate service first)",
                True,
            )
        ]
    # Newer than this code: an older replica starting during an upgrade. It may still work; say so.
    return [Finding(f"the database schema is at revision {current}, which this code does not know", "upgrade the app")]


async def role_findings(session: AsyncSession) -> list[Finding]:
    guard = await audit_guard(session)
    if guard.owner is None:
        return []  # not migrated: migration_findings says so
    if guard.can_defeat_trigger:
        what = "a superuser" if guard.superuser else f"the owner of audit_events ({guard.owner})"
        return [
            Finding(
                f"the app connects as {guard.role}, {what}: it could disable the audit trigger and rewrite history",
                "connect the app as its own role (DATABASE_URL) and migrate as the owner (MIGRATION_DATABASE_URL); "
                "see README, Configuration: database roles",
                fatal_in_production=True,
            )
        ]
    if guard.extra_privileges:
        return [
            Finding(
                f"the app's role {guard.role} holds {', '.join(guard.extra_privileges)} on audit_events "
                "(the trigger still refuses them)",
                "run `camvault migrate`, which grants it INSERT and SELECT only",
            )
        ]
    return []


async def check_at_start(sessionmaker: async_sessionmaker[AsyncSession], *, production: bool) -> None:
    """Log every finding; refuse to start on a schema this code cannot use, and in production on a role that
    could rewrite the audit trail. A database that cannot be reached is not a finding: the app starts, and
    /readyz reports it until it can."""
    try:
        async with asyncio.timeout(START_CHECK_TIMEOUT_SECONDS), sessionmaker() as session:
            findings = await migration_findings(session)
            if not any(f.fatal for f in findings):
                findings += await role_findings(session)
    except (OSError, TimeoutError, DBAPIError) as exc:
        logger.warning("database check skipped: database unreachable at start-up: %s", type(exc).__name__)
        return
    for finding in findings:
        logger.warning("database check: %s; fix: %s", finding.problem, finding.fix)
    refused = [f for f in findings if f.fatal or (production and f.fatal_in_production)]
    if refused:
        raise RuntimeError("; ".join(f"{f.problem} ({f.fix})" for f in refused))
