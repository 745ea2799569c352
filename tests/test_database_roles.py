"""The app's database role cannot rewrite the audit trail: not by UPDATE/DELETE/TRUNCATE, not by disabling or
dropping the trigger that guards it. Migrations run as the owner and grant the app exactly what it needs.

Every test's app connects as that role (tests/conftest.py), as production does; here it is tried directly.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.core.config import Settings
from app.main import create_app
from tests.conftest import MakeUser
from tests.db import create_database, drop_database

ATTEMPTS = [
    "ALTER TABLE audit_events DISABLE TRIGGER USER",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete",
    "DROP TRIGGER audit_events_no_update_delete ON audit_events",
    "DROP TRIGGER audit_events_no_truncate ON audit_events",
    "DROP FUNCTION audit_events_append_only() CASCADE",
    "DROP TABLE audit_events",
    "ALTER TABLE audit_events OWNER TO CURRENT_USER",
    "DELETE FROM audit_events",
    "UPDATE audit_events SET action = 'forged'",
    "TRUNCATE audit_events",
    "UPDATE alembic_version SET version_num = 'forged'",
]


async def _audit(db: AsyncSession) -> list[tuple[object, ...]]:
    rows = [tuple(r) for r in (await db.execute(text("SELECT id, action, target FROM audit_events ORDER BY id")))]
    await db.rollback()
    return rows


@pytest.mark.parametrize("statement", ATTEMPTS)
async def test_the_app_role_cannot_touch_the_audit_trail(
    app: FastAPI, make_user: MakeUser, db: AsyncSession, statement: str
) -> None:
    await make_user("anna")  # an audit row: user.created
    before = await _audit(db)
    assert before and before[0][1] == "user.created"
    assert (await db.execute(text("SELECT current_user"))).scalar_one() == "camvault_app"
    with pytest.raises(DBAPIError, match=r"permission denied|must be owner|must be able to SET ROLE"):
        await db.execute(text(statement))
    await db.rollback()
    assert await _audit(db) == before
    triggers = await db.execute(
        text(
            "SELECT tgname, tgenabled::text FROM pg_trigger"
            " WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
        )
    )
    assert sorted(tuple(t) for t in triggers) == [
        ("audit_events_no_truncate", "O"),
        ("audit_events_no_update_delete", "O"),
    ]


async def test_the_app_role_adds_and_reads_audit_rows_and_writes_every_other_table(
    app: FastAPI, make_user: MakeUser, db: AsyncSession
) -> None:
    await make_user("anna")
    await db.execute(text("INSERT INTO audit_events (action, target) VALUES ('test.added', 'x')"))
    await db.execute(text("UPDATE users SET full_name = 'Anna' WHERE username = 'anna'"))
    await db.commit()
    assert (await db.execute(text("SELECT count(*) FROM audit_events WHERE action = 'test.added'"))).scalar() == 1
    privileges = await db.execute(
        text(
            "SELECT c.relname, bool_and(has_table_privilege(c.oid, p)) FROM pg_class c"
            " CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
            " AND c.relname NOT IN ('audit_events', 'alembic_version') GROUP BY c.relname"
        )
    )
    rows = dict(tuple(r) for r in privileges)  # type: ignore[misc]
    assert rows and all(rows.values()), rows


async def test_a_table_a_later_migration_adds_is_usable_by_the_app_at_once(
    app: FastAPI, db: AsyncSession, owner_database_url: str
) -> None:
    """Default privileges: what the owner creates later (a new migration) is readable and writable by the app
    role before any grant runs again."""
    engine = create_async_engine(owner_database_url)
    try:
        async with engine.begin() as owner:
            await owner.execute(text("CREATE TABLE later_feature (id bigserial PRIMARY KEY, note text)"))
    finally:
        await engine.dispose()
    await db.execute(text("INSERT INTO later_feature (note) VALUES ('made by the app role')"))
    await db.commit()
    assert (await db.execute(text("SELECT note FROM later_feature"))).scalar_one() == "made by the app role"


async def test_start_up_refuses_an_owner_connection_in_production_and_warns_elsewhere(
    settings: Settings, owner_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    as_owner = settings.model_copy(update={"database_url": owner_database_url})
    app = create_app(as_owner)
    async with app.router.lifespan_context(app):
        pass  # starts: outside production this is a warning
    warning = next(line for line in capsys.readouterr().out.splitlines() if "database check" in line)
    assert "WARNING" in warning and "could disable the audit trigger" in warning
    production = as_owner.model_copy(update={"env": "production"})
    app = create_app(production)
    with pytest.raises(RuntimeError, match="could disable the audit trigger"):
        async with app.router.lifespan_context(app):
            pass


async def test_start_up_refuses_a_database_that_is_not_migrated(settings: Settings, server_url: str) -> None:
    empty = await create_database(server_url, prefix="unmigrated")
    try:
        app = create_app(settings.model_copy(update={"database_url": empty}))
        with pytest.raises(RuntimeError, match=r"the database is not migrated \(run `camvault migrate`"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        await drop_database(empty)
