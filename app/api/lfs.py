"""How the Git LFS routes answer: `application/vnd.git-lfs+json`, and errors as `{"message": ...}`.

The rest of the API answers errors as `{"detail": ...}`; the LFS client reads `message` (and prints it),
so these routes turn every error, including a failed validation, into the LFS shape here.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.core.errors import DomainError
from app.core.request_context import request_id_var

LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"


class LfsResponse(JSONResponse):
    media_type = LFS_MEDIA_TYPE


def lfs_error(status_code: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> LfsResponse:
    return LfsResponse({**body, "request_id": request_id_var.get()}, status_code=status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "Invalid request: " + "; ".join(problems)


class LfsRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                body = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
                return lfs_error(exc.status_code, body, exc.headers)
            except RequestValidationError as exc:
                return lfs_error(422, {"message": _validation_message(exc)})
            except HTTPException as exc:
                return lfs_error(exc.status_code, {"message": str(exc.detail)}, exc.headers)

        return route
