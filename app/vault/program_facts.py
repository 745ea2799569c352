"""Program facts for the write pipeline: computed from the staged files, in a worker thread, with no database
connection held (the pipeline calls this beside `Vault.stage`, before its write transaction).

A program larger than NC_FACTS_INLINE_BYTES is not parsed there: its write commits without facts and
`compute_later` parses it from Git right after, in a task of the worker (the parse in a thread), so a 20 MB program
does not hold its upload. Until they are stored, its facts are *pending* (`facts_pending`); the sweep's backstop
(`FactsBackstop`, app/services/facts_backstop.py) and `camvault reindex` compute those a lost task left behind.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core.config import Settings
from app.nc import ProgramFacts, is_nc_path, program_facts
from app.repositories.program_facts import VersionFactsRepository, VersionToParse
from app.storage.git_store import GitStore

logger = logging.getLogger(__name__)

IN_MEMORY_BYTES = 16 * 1024 * 1024  # a stored version larger than this is streamed to a temp file to be parsed
# How long the server itself answers for the facts of a large program: the backstop computes those still missing
# this long after the version was made, and until then the API says they are pending.
PENDING_FOR = timedelta(hours=1)


def facts_of_file(
    path: str, source: Path | bytes, settings: Settings, *, version_id: int | None = None
) -> ProgramFacts | None:
    """The facts of one file (plain CPU work: call it in a thread): None when the path is not an NC program, the
    content is not text, or the parser failed (logged; the version is stored without facts and `camvault reindex`
    tries again): facts describe a version, they never stop one being made."""
    if not is_nc_path(path, settings.nc_extensions):
        return None
    try:
        return program_facts(source, rapid_rate_mm_min=settings.rapid_rate_mm_min)
    except Exception:
        logger.exception("program facts failed path=%s version_id=%s", path, version_id)
        return None


def deferred(path: str, size: int, settings: Settings) -> bool:
    """Whether a version's facts are computed after its write commits rather than before (a large NC program)."""
    return size > settings.nc_facts_inline_bytes and is_nc_path(path, settings.nc_extensions)


def facts_pending(path: str, size: int, made_at: datetime, now: datetime, settings: Settings) -> bool:
    """For a version without facts: whether the server is still to compute them on its own (see the module)."""
    return deferred(path, size, settings) and now - made_at < PENDING_FOR


def _facts_of_files(paths: Sequence[str], sources: Sequence[Path], settings: Settings) -> dict[str, ProgramFacts]:
    found = {}
    for path, source in zip(paths, sources, strict=True):
        if deferred(path, source.stat().st_size, settings):
            continue
        facts = facts_of_file(path, source, settings)
        if facts is not None:
            found[path] = facts
    return found


async def compute_facts(paths: Sequence[str], sources: Sequence[Path], settings: Settings) -> dict[str, ProgramFacts]:
    """{vault path: facts} for the NC programs among the files (`sources[i]` is the content of `paths[i]`) up to
    NC_FACTS_INLINE_BYTES; larger ones are left to `compute_later`."""
    if not any(is_nc_path(p, settings.nc_extensions) for p in paths):
        return {}
    return await to_thread.run_sync(_facts_of_files, list(paths), list(sources), settings)


async def facts_of_version(
    version: VersionToParse, store: GitStore, settings: Settings, *, in_memory_bytes: int = IN_MEMORY_BYTES
) -> ProgramFacts | None:
    """A stored version's facts: its content read from Git (a large one streamed to a temp file: memory stays flat
    whatever its size), parsed in a worker thread."""
    if version.size <= in_memory_bytes:
        data = await store.reads.read_blob(version.blob_sha, in_memory_bytes)
        return await to_thread.run_sync(partial(facts_of_file, version.path, data, settings, version_id=version.id))
    tmp = settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp, prefix="facts-", suffix=".nc") as out:
        async for chunk in store.reads.stream_blob(version.blob_sha, chunk_size=1 << 20):
            await to_thread.run_sync(out.write, chunk)
        await to_thread.run_sync(out.flush)
        return await to_thread.run_sync(
            partial(facts_of_file, version.path, Path(out.name), settings, version_id=version.id)
        )


async def store_facts(
    sessionmaker: async_sessionmaker,
    store: GitStore,
    settings: Settings,
    version_ids: Iterable[int],  # type: ignore[type-arg]
) -> int:
    """Compute and store the facts of these versions (those that still lack them), each in a transaction of its own
    and none open while one is parsed; returns how many were stored."""
    stored = 0
    async with sessionmaker() as session:
        repository = VersionFactsRepository(session)
        versions = await repository.to_parse(list(version_ids))
        await session.commit()
        for version in versions:
            facts = await facts_of_version(version, store, settings)
            if facts is not None:
                await repository.put(version.id, facts.model_dump(mode="json"))
                await session.commit()
                stored += 1
    return stored


_later: set[asyncio.Task[None]] = set()  # held here: the loop keeps only weak references to tasks


def compute_later(engine: AsyncEngine, store: GitStore, settings: Settings, version_ids: Sequence[int]) -> None:
    """Start computing these committed versions' facts in this worker (never on the event loop: the parse runs in a
    thread); a failure is logged and leaves the versions to the backstop."""
    task = asyncio.get_running_loop().create_task(
        _compute_later(engine, store, settings, list(version_ids)), name="camvault-facts-later"
    )
    _later.add(task)
    task.add_done_callback(_later.discard)


async def _compute_later(engine: AsyncEngine, store: GitStore, settings: Settings, version_ids: list[int]) -> None:
    try:
        stored = await store_facts(async_sessionmaker(engine, expire_on_commit=False), store, settings, version_ids)
        logger.info("program facts after commit versions=%s stored=%d", version_ids, stored)
    except Exception:
        logger.exception(
            "program facts after commit failed versions=%s (the sweep's backstop tries again)", version_ids
        )


async def stop_later() -> None:
    """At shutdown: the tasks still parsing are cancelled (the backstop of another start computes their facts)."""
    for task in list(_later):
        task.cancel()
    await asyncio.gather(*_later, return_exceptions=True)
