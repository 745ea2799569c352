"""Multipart bodies streamed straight to temporary files, with the size limit checked as bytes arrive.

FastAPI's `UploadFile` parses the whole body before the route runs, so an oversize upload
would be on disk in full before we could refuse it; this parser stops at the first byte over.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from anyio import to_thread
from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect

from app.core.errors import BadRequest, InsufficientStorage, TooLarge, UnsupportedType

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 1000


@dataclass
class ReceivedFile:
    field: str
    filename: str
    path: Path
    size: int = 0


@dataclass
class ReceivedForm:
    files: list[ReceivedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


class _Collector:
    """python-multipart callbacks; data is buffered per network chunk and written off the event loop."""

    def __init__(self, tmp_dir: Path, max_file_bytes: int) -> None:
        self.tmp_dir = tmp_dir
        self.max_file_bytes = max_file_bytes
        self.form = ReceivedForm()
        self.ended = False
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._current: ReceivedFile | None = None
        self._current_field: tuple[str, bytearray] | None = None
        self._file: IO[bytes] | None = None
        self._opened: list[IO[bytes]] = []
        # (file, bytes) to write, or (file, None) to close; applied in order by flush().
        self.pending: list[tuple[IO[bytes], bytes | None]] = []
        self.parts = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._add("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_header_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _add(self, attr: str, data: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + data)

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(f"Too many parts in one upload (at most {MAX_PARTS})")
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise BadRequest("Each part needs Content-Disposition: form-data with a name")
        name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            # Browsers send the name as raw UTF-8 inside the quotes.
            filename = options[b"filename"].decode("utf-8", "surrogateescape")
            fd, tmp = tempfile.mkstemp(prefix="upload-", dir=self.tmp_dir)
            self._file = os.fdopen(fd, "wb")
            self._opened.append(self._file)
            self._current = ReceivedFile(field=name, filename=filename, path=Path(tmp))
            self.form.files.append(self._current)
        else:
            self._current_field = (name, bytearray())

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is not None:
            self._current.size += end - start
            if self._current.size > self.max_file_bytes:
                error = TooLarge(self.max_file_bytes)
                error.file = self._current.filename
                raise error
            assert self._file is not None
            self.pending.append((self._file, data[start:end]))
        elif self._current_field is not None:
            self._current_field[1].extend(data[start:end])
            if len(self._current_field[1]) > MAX_FIELD_BYTES:
                raise BadRequest(f"Form field {self._current_field[0]!r} is too long")

    def _part_end(self) -> None:
        if self._current_field is not None:
            name, value = self._current_field
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"Form field {name!r} is not UTF-8") from None
            if "\x00" in text:  # PostgreSQL text (commit messages end up there) cannot hold NUL
                raise BadRequest(f"Form field {name!r} contains a NUL character")
            self.form.fields[name] = text
            self._current_field = None
        if self._file is not None:
            self.pending.append((self._file, None))
            self._file = None
        self._current = None

    def _end(self) -> None:
        self.ended = True

    def flush(self) -> None:
        """Write what the last chunk produced and close finished files (runs in a worker thread)."""
        pending, self.pending = self.pending, []
        for target, piece in pending:
            if piece is None:
                target.close()
            else:
                target.write(piece)

    def close(self) -> None:
        for opened in self._opened:
            with contextlib.suppress(OSError):  # on a full disk closing flushes, and fails again
                opened.close()


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedType("Send the upload as multipart/form-data")
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data without a boundary")
    return boundary


@contextlib.asynccontextmanager
async def receive_multipart(request: Request, tmp_dir: Path, max_file_bytes: int) -> AsyncIterator[ReceivedForm]:
    """Parse the request body into temp files under tmp_dir; they are removed when the block ends."""
    boundary = _boundary(request)
    await to_thread.run_sync(partial(tmp_dir.mkdir, parents=True, exist_ok=True))
    collector = _Collector(tmp_dir, max_file_bytes)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if collector.pending:
                    await to_thread.run_sync(collector.flush)
            await to_thread.run_sync(collector.flush)
        except ClientDisconnect:
            raise BadRequest("The upload was interrupted") from None
        except (ValueError, IndexError) as exc:  # python-multipart's parse errors
            raise BadRequest(f"Malformed multipart body: {exc}") from None
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # the temp file could not grow: disk or quota full
                raise InsufficientStorage() from None
            raise
        if not collector.ended:
            raise BadRequest("The upload was truncated: the multipart body has no closing boundary")
        yield collector.form
    finally:
        collector.close()
        for received in collector.form.files:
            received.path.unlink(missing_ok=True)
