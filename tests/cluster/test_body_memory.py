"""An anonymous 100 MB JSON body costs a real worker no memory: it is refused with 413 at the limit.

Issue 16 measured 382 MB of RSS for one such body to /api/auth/token before its 422. The server here is a real
Uvicorn process; the client is a raw socket, so the body really is 100 MB on the wire (declared, or chunked
with no length), and the worker's peak RSS (VmHWM) is read from /proc before and after.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest

from app.core.config import Settings
from app.models import Role
from tests.cluster.test_memory import peak_rss
from tests.conftest import PASSWORD, MakeUser
from tests.live_server import LiveServer, server_env

MIB = 1024**2
BODY = 100 * MIB
ALLOWED_GROWTH = 32 * MIB  # far below the body: the bug cost 382 MB


def _raw_post(server: LiveServer, path: str, headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """POST through a bare socket: the body is sent by a thread for as long as the server takes it, while this
    thread reads the answer (a server that answers early stops reading, and the sender then gets EPIPE)."""
    url = urlsplit(server.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=60)
    head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock.sendall(head.encode() + b"\r\n")
    sent = [0]

    def send_body() -> None:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server answered and closed: exactly what should happen

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
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    sender.join(timeout=30)
    assert sent[0] < BODY, "the server read the whole body"
    return status, body


def _blocks(total: int, *, chunked: bool) -> Iterator[bytes]:
    block = b'{"login": "anna", "password": "' + b"x" * (MIB - 32)
    for _ in range(total // MIB):
        yield b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
    if chunked:
        yield b"0\r\n\r\n"


@pytest.fixture
async def server(database_url: str, settings: Settings, make_user: MakeUser) -> AsyncIterator[LiveServer]:
    await make_user("anna", Role.user)
    env = server_env(database_url, settings.data_dir, secret_key=settings.secret_key)
    live = LiveServer(env, settings.data_dir.parent / "server").start()
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.slow
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_anonymous_json_body_is_413_without_growing_the_worker(server: LiveServer, chunked: bool) -> None:
    json_headers = {"Content-Type": "application/json", "Connection": "close"}
    small = f'{{"login": "anna", "password": "{PASSWORD}"}}'.encode()
    status, _ = _raw_post(server, "/api/auth/token", json_headers | {"Content-Length": str(len(small))}, iter([small]))
    assert status == 200  # warm: every import and pool the login path needs is in the baseline
    baseline = peak_rss(server.pid)

    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(BODY)}
    status, body = _raw_post(server, "/api/auth/token", json_headers | framing, _blocks(BODY, chunked=chunked))
    assert status == 413, body
    assert b"MAX_JSON_BODY_BYTES" in body
    growth = peak_rss(server.pid) - baseline
    assert growth < ALLOWED_GROWTH, f"peak RSS grew by {growth / MIB:.0f} MiB for a 100 MiB body"
