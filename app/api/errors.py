"""Domain errors become JSON answers here, once, for the whole app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from app.core.errors import DomainError
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


def internal_error_body(request_id: str | None) -> dict[str, str | None]:
    """The one body of every 500: nothing about the failure itself, the id that finds its log line."""
    return {"detail": "Internal server error", "request_id": request_id}


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error")
    return JSONResponse(internal_error_body(request_id_var.get()), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected)
