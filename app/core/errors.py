"""Domain errors raised by services and mapped to HTTP once, in app/api/errors.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DomainError(Exception):
    status_code = 400
    # For a refusal caused by one file of a multi-file upload: its name as the client sent it (the answer's `file`).
    file: str | None = None

    def __init__(self, detail: Any, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        self.headers = headers or {}


class BadRequest(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Unprocessable(DomainError):
    """The request is understood but the change it asks for lacks something (a required comment, a field)."""

    status_code = 422


class InvalidPath(DomainError):
    status_code = 400


class UnsupportedType(DomainError):
    status_code = 415


class TooLarge(DomainError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"Upload exceeds the limit of {limit} bytes")
        self.limit = limit


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        retry_after = max(1, retry_after)
        super().__init__(
            f"Too many failed login attempts; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class LockHeld(Conflict):
    """Someone else holds the lock; the answer names who, since when and until when."""

    def __init__(
        self,
        holder: str,
        since: datetime,
        until: datetime | None,
        *,
        status_code: int = 409,
        message: str | None = None,
    ) -> None:
        # The body's one definition is the schema the OpenAPI document shows (imported here: schemas sit above).
        from app.schemas.errors import LockHeldDetail

        text = message or f"File is checked out by {holder}"
        body = LockHeldDetail(message=text, holder=holder, since=since, until=until)
        super().__init__(body.model_dump(mode="json"))
        self.status_code = status_code


class Cooldown(Conflict):
    def __init__(self, retry_after: int, editor: str) -> None:
        retry_after = max(1, retry_after)
        super().__init__(
            f"File was just checked in by {editor}; it can be checked out again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


class StorageUnavailable(DomainError):
    """The Git store could not complete a write; the request changed nothing."""

    status_code = 503

    def __init__(self, detail: str = "The vault could not store the change; nothing was changed. Try again.") -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


class DatabaseUnavailable(DomainError):
    """PostgreSQL cannot be reached (restarting, stopped, out of connections): try again shortly."""

    status_code = 503

    def __init__(self, detail: str = "The database is unavailable; try again in a few seconds.") -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


class BasicAuthRequired(DomainError):
    """401 for clients that speak HTTP Basic (git, git-lfs): the header makes them ask for credentials."""

    status_code = 401

    def __init__(self, detail: str = "Authentication required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Basic realm="camvault", charset="UTF-8"'})


class InsufficientStorage(DomainError):
    """The disk holding the vault (or the uploads' temp folder) is full: nothing was stored."""

    status_code = 507

    def __init__(
        self, detail: str = "The vault's disk is full: nothing was stored. Free some space (or ask an admin) and retry."
    ) -> None:
        super().__init__(detail)
