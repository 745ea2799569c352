"""Large blobs written as Git loose objects by this process, named by `git hash-object`.

`git hash-object -w` runs Git's collision-detecting SHA-1 (SHA1DC, ~200 MB/s here) over a file twice: once to
name the object, once more as it writes it. That was 90 % of a 256 MiB upload (3.3 s of 3.6; docs/design.md,
"Git store"). Here `git hash-object` without `-w` names the file (one SHA1DC pass, so a file crafted to collide
is still refused) while a worker thread writes the object itself: the header and the bytes through zlib at the
chosen level into a temporary file in the object store, with OpenSSL's SHA-1 alongside, then fsync. The object
is put in place only when both names agree, so what lies under a name is what that name was computed from.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path

from app.storage.runner import GitStoreError, raise_for_os_error

_CHUNK = 1 << 20
# Git's own prefix for object temp files: `git gc` (camvault maintain) deletes the ones a crash left behind.
_TEMP_PREFIX = "tmp_obj_"


@dataclass(frozen=True)
class LooseObject:
    temp: Path
    sha: str  # OpenSSL's SHA-1 of header and bytes, as written
    size: int


def temp_path(objects: Path) -> Path:
    """A new temp file's name under `objects`, chosen before any thread runs so the caller can always remove it."""
    return objects / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"


def write_temp(temp: Path, source: Path, level: int) -> LooseObject:
    """Write `source` as a blob object into the new file `temp`, fsynced (runs in a worker thread)."""
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise_for_os_error(exc, f"cannot store {source.name}")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            header = b"blob %d\0" % size
            sha = hashlib.sha1(header, usedforsecurity=False)  # a check of the name Git gives, not the name
            deflate = zlib.compressobj(level)
            out.write(deflate.compress(header))
            done = 0
            while chunk := src.read(_CHUNK):
                sha.update(chunk)
                out.write(deflate.compress(chunk))
                done += len(chunk)
            if done != size:
                raise GitStoreError(f"{source.name} changed while it was stored")
            out.write(deflate.flush())
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        discard(temp)  # never masks the error being raised
        if isinstance(exc, OSError):
            raise_for_os_error(exc, f"cannot store {source.name}")
        raise
    return LooseObject(temp, sha.hexdigest(), size)


def place(objects: Path, written: LooseObject, named: str) -> None:
    """Put a written object under the name Git gave it; an object already there is kept (as Git does)."""
    try:
        if written.sha != named:
            raise GitStoreError(f"git named the blob {named}, its bytes hash to {written.sha}")
        folder = objects / named[:2]
        created = not folder.exists()
        folder.mkdir(exist_ok=True)
        os.chmod(written.temp, 0o444)
        try:
            # A link, not a rename: never replace an object that exists (Git's own rule for loose objects).
            os.link(written.temp, folder / named[2:])
        except FileExistsError:
            os.utime(folder / named[2:])  # freshened, so a prune does not take it before the commit names it
        _fsync_dir(folder)
        if created:
            _fsync_dir(objects)
    except OSError as exc:
        raise_for_os_error(exc, "cannot store a blob")
    finally:
        discard(written.temp)


def discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        temp.unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
