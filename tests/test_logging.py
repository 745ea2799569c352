from __future__ import annotations

import logging

import pytest

from app.core.logging import RedactSecrets

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        ("< GET %s HTTP/1.1", ("/ws?token=abc.def-ghi&x=1",), "< GET /ws?token=[redacted]&x=1 HTTP/1.1"),
        (
            "< %s: %s",
            ("Sec-WebSocket-Protocol", f"camvault.v1, bearer.{TOKEN}"),
            "< Sec-WebSocket-Protocol: camvault.v1, bearer.[redacted]",
        ),
        ("Authorization: Bearer %s", (TOKEN,), "Authorization: Bearer [redacted]"),
        ("decoded %s", (TOKEN,), "decoded [redacted]"),
        ("GET /api/files status=%d", (200,), "GET /api/files status=200"),
    ],
)
def test_tokens_are_taken_out_of_log_lines(msg: str, args: tuple[object, ...], expected: str) -> None:
    record = logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, msg, args, None)
    assert RedactSecrets().filter(record)
    assert record.getMessage() == expected
