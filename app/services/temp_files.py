"""Stale temporary uploads: swept at start-up and then periodically, by every worker.

Uploads and check-ins stream their bodies to files under DATA_DIR/tmp, and remove them when the request ends,
however it ends, including a client that disconnects. What a request cannot clean up is its own death: a worker
killed (kill -9, the OOM killer, a power cut) mid-upload leaves its partial file, which nothing else would
ever read or remove.

A file is removed once it has not been written to for TEMP_FILE_MAX_AGE_SECONDS (default an hour). That is
safe because a live upload keeps writing: its file's mtime moves at least every 8 KiB received (the write
buffer), so an upload whose file is an hour old has received under 8 KiB in that hour, far past any proxy's
body timeout (Nginx's client_body_timeout is 60 s); and once the body is complete the file lives only as long
as its commit takes. Files of other workers are judged the same way, so one worker sweeps up after another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from anyio import to_thread

logger = logging.getLogger(__name__)


def sweep_stale_temp_files(tmp_dir: Path, max_age_seconds: float) -> list[Path]:
    """Remove the files directly under tmp_dir not written to for max_age_seconds; return what was removed."""
    removed: list[Path] = []
    cutoff = time.time() - max_age_seconds
    try:
        entries = list(tmp_dir.iterdir())
    except FileNotFoundError:
        return removed  # no upload yet
    for entry in entries:
        try:
            stat = entry.lstat()
            if not entry.is_file() or stat.st_mtime >= cutoff:
                continue
            entry.unlink()
        except FileNotFoundError:
            continue  # its request finished, or another worker swept it first
        removed.append(entry)
        logger.warning(
            "removed stale temp file path=%s bytes=%s idle_s=%.0f", entry, stat.st_size, time.time() - stat.st_mtime
        )
    return removed


async def sweep_temp_files_forever(tmp_dir: Path, max_age_seconds: float, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await to_thread.run_sync(sweep_stale_temp_files, tmp_dir, max_age_seconds)
        except OSError:  # a disk that errors must not end the loop
            logger.exception("temp file sweep failed; retrying in %ss", interval_seconds)
