from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.api.deps import AdminUser, LockServiceDep, ReaderUser, SettingsDep, StreamingWriter, WriterUser
from app.api.params import FileId, NoNul, UserId
from app.api.responses import errors
from app.api.uploads import receive_multipart
from app.core.errors import BadRequest
from app.schemas.lock import CheckInOut, CheckOutIn, CheckOutOut, LockChangeOut, LockOut, ReleasedLocks
from app.services.cards import card_form_values
from app.services.files import IncomingFile

router = APIRouter(tags=["locks"], responses=errors(401, 403))

# Parsed by our streaming parser (app/api/uploads.py); described here for the OpenAPI document.
_CHECKIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "New content (optional)"},
                        "message": {"type": "string", "description": "What changed"},
                        "keep_locked": {"type": "boolean", "description": "Stay checked out after the check-in"},
                        "base_version": {
                            "type": "integer",
                            "description": "The version your edit started from; 409 if the file has moved on",
                        },
                    },
                    "patternProperties": {
                        r"^card\.[a-z][a-z0-9_]*$": {
                            "type": "string",
                            "description": "A data card value to set with the check-in (`card.operation=OP20`); "
                            "422 names a bad one and nothing is checked in",
                        }
                    },
                }
            },
            "application/json": {"schema": {"type": "object", "description": "Empty: release without changes"}},
        },
    }
}


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise BadRequest(f"{name} must be true or false")


@router.post("/files/{file_id}/checkout", response_model=CheckOutOut, responses=errors(404, 409))
async def check_out(file_id: FileId, body: CheckOutIn, user: WriterUser, locks: LockServiceDep) -> CheckOutOut:
    """Take the exclusive lock. 409 names the holder, since and until; a cooldown 409 carries Retry-After."""
    return await locks.check_out(file_id, user, body.message)


@router.post(
    "/files/{file_id}/checkin",
    response_model=CheckInOut,
    responses=errors(400, 404, 409, 413, 415, 503),
    openapi_extra=_CHECKIN_BODY,
)
async def check_in(
    file_id: FileId, request: Request, user: StreamingWriter, locks: LockServiceDep, settings: SettingsDep
) -> CheckInOut:
    """Give the lock back, optionally with new content (multipart `file`) that becomes the next version.

    Form fields: `message`, `keep_locked` (true to stay checked out), `base_version` (the version
    your edit started from: 409 if the file has moved on since). A JSON or empty body releases
    without a new version.
    """
    if not request.headers.get("content-type", "").startswith("multipart/"):
        return await locks.check_in(file_id, user, content=None, message="", keep_locked=False, base_version=None)
    async with receive_multipart(request, settings.data_dir / "tmp", settings.max_upload_bytes) as form:
        if len(form.files) > 1:
            raise BadRequest("Check in one file at a time")
        content = IncomingFile(form.files[0].filename, form.files[0].path, form.files[0].size) if form.files else None
        base = form.text("base_version").strip()
        if base and not base.isdigit():
            raise BadRequest("base_version must be a version number")
        return await locks.check_in(
            file_id,
            user,
            content=content,
            message=form.text("message")[:4000],
            keep_locked=_flag(form.text("keep_locked"), "keep_locked"),
            base_version=int(base) if base else None,
            card=card_form_values(form.fields),
        )


@router.post("/files/{file_id}/renew", response_model=LockChangeOut, responses=errors(404, 409))
async def renew(file_id: FileId, user: WriterUser, locks: LockServiceDep) -> LockChangeOut:
    """The holder extends the lock by LOCK_TTL_SECONDS from now; answers the file with its renewed lock."""
    return await locks.renew(file_id, user)


@router.post("/files/{file_id}/release", response_model=LockChangeOut, responses=errors(404, 409))
async def release(file_id: FileId, user: WriterUser, locks: LockServiceDep) -> LockChangeOut:
    """Undo check-out (holder only); answers the file (now without a lock) and the lock given back."""
    return await locks.release(file_id, user)


@router.post("/files/{file_id}/force-release", response_model=LockChangeOut, responses=errors(404, 409))
async def force_release(file_id: FileId, admin: AdminUser, locks: LockServiceDep) -> LockChangeOut:
    """Admin override; audited, and the event names the former holder. Answers the file and the ended lock."""
    return await locks.force_release(file_id, admin)


@router.get("/locks", response_model=list[LockOut])
async def list_locks(
    user: ReaderUser, locks: LockServiceDep, holder: Annotated[str | None, Query(max_length=64), NoNul] = None
) -> list[LockOut]:
    return await locks.list(holder, user)


@router.post("/admin/users/{user_id}/release-locks", response_model=ReleasedLocks, responses=errors(404))
async def release_all_locks(user_id: UserId, admin: AdminUser, locks: LockServiceDep) -> ReleasedLocks:
    """Release every lock one user holds (someone away or gone)."""
    return await locks.release_all_of(user_id, admin)
