"""Domain errors become JSON answers here, once, for the whole app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.api.read_retry import RETRY_ON_FRESH_CONNECTION
from app.core.db import DatabaseConnectError, is_connection_lost
from app.core.errors import DatabaseUnavailable, DomainError
from app.core.request_context import request_id_var

logger = logging.getLogger(__name__)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    body = {"detail": exc.detail} if exc.file is None else {"detail": exc.detail, "file": exc.file}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Services check uniqueness first; this only catches the loser of a race between two requests.
    logger.info("integrity error mapped to 409: %s", getattr(exc, "orig", exc))
    return JSONResponse({"detail": "Conflicts with a concurrent change; reload and try again"}, status_code=409)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A database outage is a 503 with Retry-After, never a 500: the server cannot be reached (connect
    # failed), a pooled connection died (restart, terminated backend), or none was free in time.
    if isinstance(exc, DBAPIError) and not is_connection_lost(exc):
        return await _unexpected(request, exc)
    if not isinstance(exc, PoolTimeout):
        request.scope[RETRY_ON_FRESH_CONNECTION] = True  # a read may run again (app/api/read_retry.py)
    logger.warning("database unavailable: %s: %s", type(exc).__name__, getattr(exc, "orig", exc))
    answer = exc if isinstance(exc, DatabaseUnavailable) else DatabaseUnavailable()
    return JSONResponse({"detail": answer.detail}, status_code=answer.status_code, headers=answer.headers)


def internal_error_body(request_id: str | None) -> dict[str, str | None]:
    """The one body of every 500: nothing about the failure itself, the id that finds its log line."""
    return {"detail": "Internal server error", "request_id": request_id}


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error")
    return JSONResponse(internal_error_body(request_id_var.get()), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    for outage in (DatabaseUnavailable, DatabaseConnectError, DBAPIError, PoolTimeout):
        app.add_exception_handler(outage, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
