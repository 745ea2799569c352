"""Test databases: one server per run, a migrated template, a fresh copy per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

import asyncpg

from app.core.database_roles import APP_ROLE, AppRole
from app.core.db import create_engine, create_sessionmaker
from app.schemas.user import UserCreate
from app.services.users import UserService
from tests.pg_server import to_asyncpg_dsn, with_database

# The role the tests' apps connect as. The password matters only on a server given by DATABASE_URL (the
# embedded one trusts local connections); migrating there creates the role, which needs CREATEROLE.
TEST_APP_ROLE = AppRole(APP_ROLE, "camvault-test-app-role-password")


def as_role(url: str, role: AppRole) -> str:
    """`url` logging in as `role` instead of its own user."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=role.name, password=role.password).render_as_string(hide_password=False)


async def create_database(server_url: str, *, template: str | None = None, prefix: str = "t") -> str:
    """Create a database on the server of `server_url`; return the SQLAlchemy URL of the new database."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(to_asyncpg_dsn(with_database(server_url, "postgres")))
    try:
        if template:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(to_asyncpg_dsn(with_database(url, "postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def create_users(url: str, users: Iterable[UserCreate]) -> None:
    """Users made the way the API makes them (hashed, audited), in a database no app serves yet."""
    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            service = UserService(session)
            for body in users:
                await service.create(body, actor=None)
    finally:
        await engine.dispose()


class DatabaseSupply:
    """Copies of the migrated template, each made while the test before it runs, and dropped after it.

    A copy takes a few hundred milliseconds of the server's time (CREATE DATABASE ... TEMPLATE checkpoints), and a
    drop some more; one background thread does both, so a test's setup only picks up a copy made in the meantime.
    Every test still gets a database of its own: no state crosses from one test to the next.
    """

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="test-databases")
        self._drops: list[Future[None]] = []
        self._next: Future[str] = self._thread.submit(self._create)

    def _create(self) -> str:
        return asyncio.run(create_database(self.server_url, template=self.template))

    async def take(self) -> str:
        """A fresh copy of the template (the SQLAlchemy URL of its owner); the next one starts at once."""
        ready, self._next = self._next, self._thread.submit(self._create)
        return await asyncio.wrap_future(ready)

    def take_blocking(self) -> str:
        ready, self._next = self._next, self._thread.submit(self._create)
        return ready.result()

    def give_back(self, url: str) -> None:
        """Drop a copy (WITH FORCE: connections a test left open end too) without making the test wait."""
        self._drops.append(self._thread.submit(asyncio.run, drop_database(url)))  # type: ignore[arg-type]

    def close(self) -> None:
        """Drop the spare copy and wait for every drop; a drop that failed fails here."""
        spare = self._next.result()
        self._thread.submit(asyncio.run, drop_database(spare)).result()  # type: ignore[arg-type]
        self._thread.shutdown(wait=True)
        for drop in self._drops:
            drop.result()
