"""HTTP through a bare socket, for bodies a server should refuse before it has read them.

httpx sends a whole body before it reads the answer, so a server that answers early (413, 507) and closes
looks to it like a broken pipe. Here a thread sends the body for as long as the server takes it while the
caller reads the answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class RawAnswer:
    status: int
    body: bytes
    sent: int  # body bytes the server took before it answered


def raw_post(
    base_url: str, path: str, headers: dict[str, str], chunks: Iterable[bytes], *, length: int | None = None
) -> RawAnswer:
    """POST the chunks: as `length` bytes when given (Content-Length), else with chunked transfer encoding."""
    url = urlsplit(base_url)
    if length is None:
        headers = headers | {"Transfer-Encoding": "chunked"}
        chunks = _chunked(chunks)
    else:
        headers = headers | {"Content-Length": str(length)}
    sock = socket.create_connection((url.hostname, url.port), timeout=60)
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n"
    sock.sendall((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
    sent = [0]

    def send_body() -> None:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server answered and closed: what a server that refuses early does

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    body = reader.read(length)
    with contextlib.suppress(OSError):  # the server may have closed first
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    sender.join(timeout=30)
    return RawAnswer(status, body, sent[0])


def _chunked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"


BOUNDARY = "camvault-raw-boundary"


def multipart_file(name: str, blocks: Iterable[bytes]) -> Iterator[bytes]:
    """One `files` part, streamed: its blocks are produced as the socket takes them."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from blocks
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
