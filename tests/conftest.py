from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import run_migrations
from app.core.config import Settings
from app.core.security import configure_password_hashing
from app.main import create_app
from app.models import Role, User
from app.schemas.user import UserCreate
from app.services.users import UserService
from tests import pg_server
from tests.db import (
    TEST_APP_ROLE,
    DatabaseSupply,
    as_role,
    create_database,
    drop_database,
    with_database,
)
from tests.live_server import LiveServer, live_servers, server_env

PASSWORD = "correct horse battery"

server_url = pg_server.server_url  # the suite's PostgreSQL (a session fixture)

# Users made by tests in this process (fixtures, helpers) get cheap hashes; apps under test set it from settings.
configure_password_hashing("low")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `heavy` first, then the others by number of tests, most first.

    `make test` hands whole modules to its two workers in this order (`--dist loadfile --no-loadscope-reorder`).
    xdist's own order (most tests first) left the long modules of few tests (the fuzzer, the stack, the 1 GiB
    transfers) for the end, where one of them ran while the other worker had nothing left to do.
    """
    counts = Counter(_module_of(item) for item in items)
    heavy = {_module_of(item) for item in items if item.get_closest_marker("heavy")}
    # A stable sort: each module's tests stay together and in their order.
    items.sort(key=lambda item: (_module_of(item) not in heavy, -counts[_module_of(item)]))


def _module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A database migrated once with `alembic upgrade head`; every test gets a copy of it."""
    url = asyncio.run(create_database(server_url, prefix="tpl"))
    # As in production: migrated by the owner, who grants the app's role its privileges (copied with the template).
    run_migrations(url, TEST_APP_ROLE)
    yield urlsplit(url).path.lstrip("/")
    asyncio.run(drop_database(url))


@pytest.fixture(scope="session")
def database_supply(server_url: str, template_db: str) -> Iterator[DatabaseSupply]:
    """Copies of the template made ahead in the background (see DatabaseSupply)."""
    supply = DatabaseSupply(server_url, template_db)
    yield supply
    supply.close()


@pytest.fixture
async def database_url(database_supply: DatabaseSupply) -> AsyncIterator[str]:
    """A fresh copy of the template, connected to as the app's role, as in production (no owner rights: it
    cannot touch the audit trigger). Tests that need the owner use `owner_database_url`."""
    url = await database_supply.take()
    yield as_role(url, TEST_APP_ROLE)
    database_supply.give_back(url)


@pytest.fixture
def owner_database_url(database_url: str, server_url: str) -> str:
    """The test's database as the role that migrated it (the schema's owner)."""
    return with_database(server_url, urlsplit(database_url).path.lstrip("/"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        env="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        log_level="INFO",
        first_admin_username=None,
        first_admin_password=None,
        password_hash_cost="low",
        allow_signup=False,
        login_max_failures_per_user=5,
        login_max_failures_per_ip=20,
        login_failure_window_seconds=300,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session of the test's own, for looking at (and poking) the database directly."""
    async with app.state.sessionmaker() as session:
        yield session


async def sql(session: AsyncSession, statement: str, **params: object) -> list[tuple[object, ...]]:
    rows = (await session.execute(text(statement), params)).all()
    await session.rollback()  # never keep a snapshot open between checks
    return [tuple(r) for r in rows]


MakeUser = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(app: FastAPI) -> MakeUser:
    counter = iter(range(1, 10_000))

    async def make(
        username: str | None = None, role: Role = Role.user, password: str = PASSWORD, email: str | None = None
    ) -> User:
        name = username or f"{role.value}{next(counter)}"
        async with app.state.sessionmaker() as session:
            body = UserCreate(username=name, password=password, role=role, email=email)
            return await UserService(session).create(body, actor=None)

    return make


Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    async def do(username: str, password: str = PASSWORD) -> dict[str, str]:
        r = await client.post("/api/auth/token", json={"login": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return do


@pytest.fixture
async def admin(make_user: MakeUser, login: Login) -> tuple[User, dict[str, str]]:
    user = await make_user("boss", Role.admin)
    return user, await login("boss")


@pytest.fixture
def workers(app: FastAPI, database_url: str, settings: Settings, tmp_path: Path) -> Iterator[list[LiveServer]]:
    """Two real server processes on the test's database and DATA_DIR (beside the in-process `app`)."""
    # The same signing key as the in-process app, so a token from `login` works on every worker.
    env = server_env(database_url, settings.data_dir, secret_key=settings.secret_key)
    with live_servers(env, tmp_path / "servers", count=2) as servers:
        yield servers


StartWorkers = Callable[..., list[LiveServer]]


@pytest.fixture
def start_workers(app: FastAPI, database_url: str, settings: Settings, tmp_path: Path) -> Iterator[StartWorkers]:
    """Start real server processes on the test's database and DATA_DIR, with extra settings
    (`start_workers(2, ws_send_queue_size=8)`) or Uvicorn options; all are stopped at the end."""
    groups = iter(range(1, 1000))
    with ExitStack() as stack:

        def start(count: int = 2, *, uvicorn_args: tuple[str, ...] = (), **extra: object) -> list[LiveServer]:
            env = server_env(database_url, settings.data_dir, **extra)
            workdir = tmp_path / f"servers-{next(groups)}"
            return stack.enter_context(live_servers(env, workdir, count=count, uvicorn_args=uvicorn_args))

        yield start
