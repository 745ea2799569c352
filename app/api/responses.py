"""Error answers for the OpenAPI document: `responses=errors(404, 409)` on a route or router."""

from __future__ import annotations

from typing import Any

from app.schemas.errors import ErrorOut, UnprocessableOut

_DESCRIPTIONS = {
    400: "Bad request (malformed body, invalid path or cursor)",
    401: "Missing, expired, revoked or invalid token (`WWW-Authenticate: Bearer`)",
    403: "Your role does not allow this, or the lock is someone else's",
    404: "No such file, version or user",
    409: "Conflicts with the current state (lock held, path exists, stale base version, cooldown with `Retry-After`)",
    413: "Larger than MAX_UPLOAD_BYTES",
    415: "File type not allowed, or not multipart/form-data",
    416: "Range not satisfiable (`Content-Range: bytes */size`)",
    422: "A required comment is missing, the file lacks what a release needs, or the body is invalid",
    429: "Too many failed logins (`Retry-After`)",
    503: "The Git store could not take the change; nothing was changed (`Retry-After`)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": UnprocessableOut if code == 422 else ErrorOut, "description": _DESCRIPTIONS[code]}
        for code in codes
    }
