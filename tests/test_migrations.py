from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import ROOT
from tests.db import create_database, drop_database


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
