"""Program facts for the write pipeline: computed from the staged files, in a worker thread, with no database
connection held (the pipeline calls this beside `Vault.stage`, before its write transaction)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from anyio import to_thread

from app.core.config import Settings
from app.nc import ProgramFacts, is_nc_path, program_facts

logger = logging.getLogger(__name__)


def facts_of_file(path: str, source: Path | bytes, settings: Settings) -> ProgramFacts | None:
    """The facts of one file (plain CPU work: call it in a thread): None when the path is not an NC program, the
    content is not text, or the parser failed (logged; the version is stored without facts and `camvault reindex`
    tries again): facts describe a version, they never stop one being made."""
    if not is_nc_path(path, settings.nc_extensions):
        return None
    try:
        return program_facts(source, rapid_rate_mm_min=settings.rapid_rate_mm_min)
    except Exception:
        logger.exception("program facts failed path=%s", path)
        return None


def _facts_of_files(paths: Sequence[str], sources: Sequence[Path], settings: Settings) -> dict[str, ProgramFacts]:
    found = {}
    for path, source in zip(paths, sources, strict=True):
        facts = facts_of_file(path, source, settings)
        if facts is not None:
            found[path] = facts
    return found


async def compute_facts(paths: Sequence[str], sources: Sequence[Path], settings: Settings) -> dict[str, ProgramFacts]:
    """{vault path: facts} for the NC programs among the files (`sources[i]` is the content of `paths[i]`)."""
    if not any(is_nc_path(p, settings.nc_extensions) for p in paths):
        return {}
    return await to_thread.run_sync(_facts_of_files, list(paths), list(sources), settings)
