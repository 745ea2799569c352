"""An anonymous 100 MB JSON body costs a real worker no memory: it is refused with 413 at the limit.

Issue 16 measured 382 MB of RSS for one such body to /api/auth/token before its 422. The server here is a real
Uvicorn process; the client is a raw socket, so the body really is 100 MB on the wire (declared, or chunked
with no length), and the worker's peak RSS (VmHWM) is read from /proc before and after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.models import Role
from tests.cluster.test_memory import peak_rss
from tests.conftest import PASSWORD, MakeUser, StartWorkers
from tests.live_server import LiveServer
from tests.raw_http import raw_post

MIB = 1024**2
BODY = 100 * MIB
ALLOWED_GROWTH = 32 * MIB  # far below the body: the bug cost 382 MB


def _blocks(total: int) -> Iterator[bytes]:
    yield b'{"login": "anna", "password": "'
    for _ in range(total // MIB):
        yield b"x" * MIB


@pytest.fixture
async def server(start_workers: StartWorkers, make_user: MakeUser) -> LiveServer:
    await make_user("anna", Role.user)
    [live] = start_workers(1)
    return live


@pytest.mark.slow
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_anonymous_json_body_is_413_without_growing_the_worker(server: LiveServer, chunked: bool) -> None:
    json_headers = {"Content-Type": "application/json"}
    small = f'{{"login": "anna", "password": "{PASSWORD}"}}'.encode()
    warm = raw_post(server.url, "/api/auth/token", json_headers, [small], length=len(small))
    assert warm.status == 200  # warm: every import and pool the login path needs is in the baseline
    baseline = peak_rss(server.pid)

    length = None if chunked else BODY
    answer = raw_post(server.url, "/api/auth/token", json_headers, _blocks(BODY), length=length)
    assert answer.status == 413, answer.body
    assert b"MAX_JSON_BODY_BYTES" in answer.body
    assert answer.sent < BODY, "the server read the whole body"
    growth = peak_rss(server.pid) - baseline
    assert growth < ALLOWED_GROWTH, f"peak RSS grew by {growth / MIB:.0f} MiB for a 100 MiB body"
