"""The exact SQL a request makes, recorded in-process and replayed on bare asyncpg (the benchmarks' floor).

camvault runs a second time inside this process, on the same database, reached through httpx's
ASGITransport (no network). A SQLAlchemy `before_cursor_execute` listener on its engine records each
statement with the parameters handed to asyncpg (already in asyncpg's `$1` form), and `commit`/`rollback`
listeners record where its transactions end. The replay sends the same statements with the same
parameters on one plain asyncpg connection.

Round trips are counted below SQLAlchemy, on the wire's side of asyncpg: each pooled connection's protocol
object is wrapped, and every call that sends messages and waits for PostgreSQL's answer (a simple query such
as BEGIN or COMMIT, a prepare, a bind-and-execute, a portal fetch, a statement close, COPY) counts one. So a
pool pre-ping (BEGIN, an empty query, ROLLBACK), the lazy BEGIN and a cache-missing prepare are all counted,
which statement listeners alone would not see.

Nothing else may use the engine while a request is recorded: the capture app's lock sweeper and presence
heartbeat are set to run once an hour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from app.core.config import Settings
from app.main import create_app
from tests.live_server import SECRET_KEY

COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"


@dataclass(frozen=True)
class Step:
    """One statement with its parameters, or the end of a transaction (`sql` is COMMIT or ROLLBACK, no params)."""

    sql: str
    params: tuple[Any, ...] = ()

    @property
    def is_boundary(self) -> bool:
        return self.sql in (COMMIT, ROLLBACK) and not self.params


# asyncpg protocol calls that write to the server and wait for its answer: one round trip each.
ROUND_TRIP_CALLS = frozenset(
    {
        "query",
        "prepare",
        "bind_execute",
        "bind_execute_many",
        "bind",
        "execute",
        "close_statement",
        "close_portal",
        "copy_in",
        "copy_out",
    }
)


class CountingProtocol:
    """asyncpg's protocol object, passed through, counting the calls that are a round trip to PostgreSQL."""

    def __init__(self, protocol: Any, count: Any) -> None:
        self._wrapped = protocol
        self._count = count

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._wrapped, name)
        if name in ROUND_TRIP_CALLS:
            self._count(name)
        return attribute


@dataclass
class Recording:
    steps: list[Step] = field(default_factory=list)
    round_trips: int = 0
    round_trip_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def statements(self) -> list[Step]:
        return [s for s in self.steps if not s.is_boundary]

    def one(self, *needles: str) -> Step:
        """The single recorded statement whose text contains every needle (case-insensitive)."""
        found = [s for s in self.statements if all(n.lower() in s.sql.lower() for n in needles)]
        if len(found) != 1:
            raise LookupError(f"expected one statement with {needles}, found {len(found)} in {self.statements}")
        return found[0]


class RecordingClient:
    """An httpx client for the in-process camvault whose `record()` collects the SQL of the requests in it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._current: Recording | None = None

    def on_statement(self, statement: str, parameters: Any) -> None:
        if self._current is not None:
            self._current.steps.append(Step(statement, tuple(parameters or ())))

    def on_boundary(self, kind: str) -> None:
        if self._current is not None:
            self._current.steps.append(Step(kind))

    def on_round_trip(self, call: str) -> None:
        if self._current is not None:
            self._current.round_trips += 1
            self._current.round_trip_kinds[call] = self._current.round_trip_kinds.get(call, 0) + 1

    @asynccontextmanager
    async def record(self) -> AsyncIterator[Recording]:
        self._current = recording = Recording()
        try:
            yield recording
        finally:
            self._current = None


@asynccontextmanager
async def capture_app(database_url: str, data_dir: Path) -> AsyncIterator[RecordingClient]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env="test",
        database_url=database_url,
        data_dir=data_dir,
        secret_key=SECRET_KEY,  # the Uvicorn worker's key: one token works on both
        log_level="WARNING",
        lock_sweep_seconds=3600,
        ws_presence_sweep_seconds=1800,
        ws_presence_stale_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://capture") as client:
            recorder = RecordingClient(client)
            engine = app.state.engine.sync_engine

            def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
                recorder.on_statement(statement, parameters)

            def commit(conn: Any) -> None:
                recorder.on_boundary(COMMIT)

            def rollback(conn: Any) -> None:
                recorder.on_boundary(ROLLBACK)

            def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
                raw = dbapi_connection._connection  # SQLAlchemy's adapter around the asyncpg Connection
                if not isinstance(raw._protocol, CountingProtocol):  # pooled since the app started: wrap once
                    raw._protocol = CountingProtocol(raw._protocol, recorder.on_round_trip)

            # Before the pool's own checkout work (a pre-ping, when it is on), so that is counted too.
            event.listen(engine, "checkout", checked_out, insert=True)
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "commit", commit)
            event.listen(engine, "rollback", rollback)
            yield recorder


async def replay(conn: asyncpg.Connection, steps: Sequence[Step]) -> None:
    """Run the steps as the app ran them: statements in transactions, ended where the app ended them.

    A transaction still open at the end is rolled back (the app's session closes it the same way).
    """
    tx: Any = None
    for step in steps:
        if step.is_boundary:
            if tx is not None:
                await (tx.commit() if step.sql == COMMIT else tx.rollback())
                tx = None
            continue
        if tx is None:
            tx = conn.transaction()
            await tx.start()
        await conn.fetch(step.sql, *step.params)
    if tx is not None:
        await tx.rollback()
