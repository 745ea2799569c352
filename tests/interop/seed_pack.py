"""A commit of many large random files written straight into a repository as one pack and its index.

The 1 GiB tests need a big vault quickly. `git fast-import` took ~26 s for 1 GiB here: most of it Git's
collision-detecting SHA-1, run over the data twice, and `os.urandom`. This writes the same kind of objects
(incompressible blobs, stored at zlib level 0, a tree and a commit) in a few seconds: AES-CTR output for the
data, OpenSSL's SHA-1 for the object names. Git checks all of it again when it serves and receives the clone.

Formats: Git's gitformat-pack (pack version 2, index version 2).
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_COMMIT, _TREE, _BLOB = 1, 2, 3
_KIND_NAMES = {_COMMIT: b"commit", _TREE: b"tree", _BLOB: b"blob"}


def random_bytes(size: int) -> bytes:
    """Incompressible bytes, a new stream each call (AES-CTR under a random key: ~0.6 GB/s here)."""
    return Cipher(algorithms.AES(os.urandom(16)), modes.CTR(bytes(16))).encryptor().update(bytes(size))


def _entry_header(kind: int, size: int) -> bytes:
    # Type in bits 4-6 of the first byte with the size's low 4 bits, then 7 bits a byte, little end first.
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


class _PackWriter:
    def __init__(self, path: Path, count: int) -> None:
        self.file = path.open("wb")
        self.checksum = hashlib.sha1()
        self.offset = 0
        self.entries: list[tuple[bytes, int, int]] = []  # (object name, crc32, offset)
        self._write(b"PACK" + struct.pack(">II", 2, count))

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.checksum.update(data)
        self.offset += len(data)

    def add(self, kind: int, data: bytes, level: int) -> bytes:
        name = hashlib.sha1(_KIND_NAMES[kind] + b" %d\0" % len(data) + data).digest()
        header, body = _entry_header(kind, len(data)), zlib.compress(data, level)
        self.entries.append((name, zlib.crc32(body, zlib.crc32(header)), self.offset))
        self._write(header)
        self._write(body)
        return name

    def finish(self) -> bytes:
        trailer = self.checksum.digest()
        self.file.write(trailer)
        self.file.close()
        return trailer


def _index(entries: list[tuple[bytes, int, int]], pack_checksum: bytes) -> bytes:
    entries = sorted(entries)
    fanout = [0] * 256
    for name, _, _ in entries:
        fanout[name[0]] += 1
    running = 0
    for n in range(256):
        running += fanout[n]
        fanout[n] = running
    assert all(offset < 1 << 31 for _, _, offset in entries), "no 64-bit offsets written: keep packs under 2 GiB"
    body = (
        b"\377tOc"
        + struct.pack(">I", 2)
        + struct.pack(">256I", *fanout)
        + b"".join(name for name, _, _ in entries)
        + b"".join(struct.pack(">I", crc) for _, crc, _ in entries)
        + b"".join(struct.pack(">I", offset) for _, _, offset in entries)
        + pack_checksum
    )
    return body + hashlib.sha1(body).digest()


def write_seed_commit(repo: Path, *, files: int, size: int, folder: str, message: str = "seed") -> str:
    """One commit holding `folder`/partNNN.stl (`files` random files of `size` bytes), referenced by no ref yet."""
    pack_dir = repo / "objects" / "pack"
    temp = pack_dir / f"tmp-seed-{os.getpid()}.pack"
    pack = _PackWriter(temp, files + 3)
    entries = []
    for n in range(1, files + 1):
        entries.append(f"100644 part{n:03}.stl".encode() + b"\0" + pack.add(_BLOB, random_bytes(size), 0))
    inner = pack.add(_TREE, b"".join(entries), 6)  # the names sort as they were made
    root = pack.add(_TREE, f"40000 {folder}".encode() + b"\0" + inner, 6)
    person = b"camvault <camvault@localhost> 1764460800 +0000"
    body = b"tree %s\nauthor %s\ncommitter %s\n\n%s\n" % (root.hex().encode(), person, person, message.encode())
    commit = pack.add(_COMMIT, body, 6)
    checksum = pack.finish()
    final = pack_dir / f"pack-{checksum.hex()}"
    temp.rename(final.with_suffix(".pack"))
    # The index last: Git takes a pack as present once its .idx exists.
    index_temp = pack_dir / f"tmp-seed-{os.getpid()}.idx"
    index_temp.write_bytes(_index(pack.entries, checksum))
    index_temp.rename(final.with_suffix(".idx"))
    return commit.hex()
