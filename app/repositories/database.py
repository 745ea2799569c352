"""What the database says about itself: the schema revision and who can defeat the audit trigger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession


async def schema_revision(session: AsyncSession) -> str | None:
    """Alembic's revision of this database, or None when it was never migrated."""
    exists = (await session.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one()
    if not exists:
        return None
    try:
        return (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
    except ProgrammingError:  # no SELECT on it: the role was never granted anything
        await session.rollback()
        return None


@dataclass(frozen=True)
class AuditGuard:
    """How the connected role stands to the append-only audit table."""

    role: str
    owner: str | None  # None: the table does not exist
    superuser: bool
    # The role owns the table or is a member of its owner: it may disable or drop the trigger.
    owns: bool
    # Privileges beyond INSERT and SELECT (the trigger still refuses the rows, but nothing needs them).
    extra_privileges: tuple[str, ...]

    @property
    def can_defeat_trigger(self) -> bool:
        return self.superuser or self.owns


async def audit_guard(session: AsyncSession) -> AuditGuard:
    row = (
        await session.execute(
            text(
                "SELECT current_user, r.rolsuper, c.relowner::regrole::text,"
                " c.oid IS NOT NULL AND pg_has_role(current_user, c.relowner, 'MEMBER'),"
                " ARRAY(SELECT p FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) AS p"
                "       WHERE c.oid IS NOT NULL AND has_table_privilege(current_user, c.oid, p))"
                " FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('audit_events')"
                " WHERE r.rolname = current_user"
            )
        )
    ).one()
    role, superuser, owner, owns, extra = row
    return AuditGuard(role, owner, bool(superuser), bool(owns), tuple(extra))
