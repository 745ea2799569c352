from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.api.deps import (
    AdminUser,
    AuthServiceDep,
    DownloadUser,
    FileExportDep,
    FileServiceDep,
    MoveServiceDep,
    ReaderUser,
    SettingsDep,
    StreamingWriter,
    WriterUser,
)
from app.api.params import Cursor, FileId, Limit, NoNul, OptionalRevision, OptionalVersion
from app.api.responses import errors
from app.api.routes import folders
from app.api.uploads import receive_multipart
from app.core.errors import BadRequest
from app.models import FileState
from app.schemas.common import INT32_MAX
from app.schemas.file import (
    BinaryDiff,
    BlameOut,
    DownloadLink,
    FileKind,
    FileMoveIn,
    FileOut,
    FilePage,
    FolderList,
    HistoryPage,
    TextDiff,
    UploadOut,
)
from app.services import roles
from app.services.cards import card_form_values
from app.services.files import IncomingFile
from app.services.listing import ListingQuery

router = APIRouter(prefix="/files", tags=["files"], responses=errors(401, 403))

# The body is parsed by our streaming parser (app/api/uploads.py), so FastAPI cannot see it: describe it here.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One part per file; a file name may contain folders (`fixtures/vise.step`)",
                        },
                        "folder": {"type": "string", "description": "Folder to upload into, e.g. `jobs/1042`"},
                        "message": {"type": "string", "description": "Commit message for the upload"},
                    },
                    "patternProperties": {
                        r"^card\.[a-z][a-z0-9_]*$": {
                            "type": "string",
                            "description": "A data card value for every uploaded file (`card.part_number=4711-A`); "
                            "422 names a bad one and nothing is uploaded",
                        }
                    },
                }
            }
        },
    }
}


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """One `bytes=a-b` range; anything else (several ranges, nonsense) means the whole file, per RFC 9110."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first = int(match.group(1)) if match.group(1) else None
    last = int(match.group(2)) if match.group(2) else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


class RangeNotSatisfiable(BadRequest):
    status_code = 416

    def __init__(self, size: int) -> None:
        super().__init__("Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})


def satisfiable(byte_range: tuple[int | None, int | None], size: int) -> tuple[int, int]:
    """The inclusive byte span a range asks of `size` bytes; 416 when it asks for none of them."""
    first, last = byte_range
    if first is None:  # suffix range: the last N bytes
        if not last:
            raise RangeNotSatisfiable(size)
        return max(size - last, 0), size - 1
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, size - 1 if last is None else min(last, size - 1)


def content_disposition(name: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def listing_query(
    q: Annotated[str | None, Query(max_length=1024, description="Substring of the path, any case"), NoNul] = None,
    status_: Annotated[Literal["available", "checked_out"] | None, Query(alias="status")] = None,
    holder: Annotated[str | None, Query(max_length=64, description="Username holding the lock"), NoNul] = None,
    folder: Annotated[
        str | None, Query(max_length=1024, description='Only files in this folder (`""` = the top)'), NoNul
    ] = None,
    recursive: Annotated[bool, Query(description="With `folder`: include its subfolders")] = False,
    deleted: Annotated[bool, Query(description="List deleted files instead (admin)")] = False,
    state: Annotated[FileState | None, Query(description="Only files in this lifecycle state")] = None,
    released_only: Annotated[
        bool,
        Query(description="The shop floor's view: each file's current revision only (always so for viewers)"),
    ] = False,
    sort: Annotated[
        str,
        Query(
            pattern=r"^(name|size|updated|card\.[a-z][a-z0-9_]{0,39})$",
            description="`name`, `size`, `updated`, or a card field: `card.part_number` (files without a value last)",
        ),
    ] = "name",
    order: Literal["asc", "desc"] = "asc",
) -> ListingQuery:
    """The filters and order shared by the listing and its export."""
    return ListingQuery(q, status_, holder, folder, recursive, deleted, state, released_only, sort, order == "desc")


ListingQueryDep = Annotated[ListingQuery, Depends(listing_query)]


@router.get("", response_model=FilePage, responses=errors(400))
async def list_files(
    user: ReaderUser,
    files: FileServiceDep,
    query: ListingQueryDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    count: Annotated[bool, Query(description="Also count every match (`total`); costs a scan of them")] = False,
    card: Annotated[
        list[Annotated[str, NoNul]],
        Query(
            max_length=20,
            description="Card filters, `key:op:value`, all must hold: `customer:eq:ACME`, `machine:in:DMU 50|Mazak`, "
            "`qty:gte:10`, `due:lte:2026-12-31`, `description:has:flange`, `material:empty`, `material:set`. "
            "A file's value is its own or the one its nearest folder card gives it",
        ),
    ] = [],  # noqa: B006  (FastAPI copies defaults per request)
    facts: Annotated[
        bool, Query(description="Add `facts_summary` to NC programs: tools, cycle time and Z min of the version shown")
    ] = False,
) -> FilePage:
    """Search and list files, one page at a time (pass `next_cursor` back as `cursor`).

    `q` matches any part of the path or of any card value (part number, customer, description…), any case.
    Without `folder` the whole vault is searched; with it, only that folder (and, with `recursive=true`,
    everything below it). Folders and names match regardless of case. Viewers (unless VIEWERS_SEE_WORK=true)
    and `released_only=true` see released revisions only: no work in progress, no obsolete file. `total` is
    null unless `count=true`; for every row at once, use `GET /api/files/export`.
    """
    return await files.list(user, query, cursor=cursor, limit=limit, count=count, card=card, facts=facts)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}, "text/csv": {}},
            "description": "Every file the filters match, in the listing's order: one JSON object a line, or CSV",
        },
        **errors(400),
    },
)
async def export_files(
    user: ReaderUser,
    export: FileExportDep,
    query: ListingQueryDep,
    format_: Annotated[Literal["ndjson", "csv"], Query(alias="format")] = "ndjson",
) -> StreamingResponse:
    """The whole listing (every page) as one streamed response, with the listing's filters and order."""
    body = export.stream(user, query, format_)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    media = "text/csv; charset=utf-8" if format_ == "csv" else "application/x-ndjson"
    name = f"camvault-files-{stamp}.{'csv' if format_ == 'csv' else 'ndjson'}"
    return StreamingResponse(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# The older address of GET /api/folders: the same route.
router.add_api_route("/folders", folders.list_folders, methods=["GET"], response_model=FolderList)


@router.post(
    "",
    response_model=UploadOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 409, 413, 415, 503),
    openapi_extra=_UPLOAD_BODY,
)
async def upload(request: Request, user: StreamingWriter, files: FileServiceDep, settings: SettingsDep) -> UploadOut:
    """Upload one or more new files (multipart: any number of file parts, optional `folder` and `message`).

    Streamed to disk with the size checked as it arrives (413 above MAX_UPLOAD_BYTES); 415 for
    an extension not allowed; 409 when a path already exists (new versions come through check-in).
    """
    async with receive_multipart(request, settings.data_dir / "tmp", settings.max_upload_bytes) as form:
        incoming = [IncomingFile(f.filename, f.path, f.size) for f in form.files]
        card = card_form_values(form.fields)
        return await files.upload(user, form.text("folder"), incoming, form.text("message"), card=card)


@router.get("/by-path", response_model=FileOut, responses=errors(404))
async def file_by_path(
    user: ReaderUser, files: FileServiceDep, path: Annotated[str, Query(max_length=1024), NoNul]
) -> FileOut:
    return await files.get_by_path(path, user)


@router.get("/{file_id}", response_model=FileOut, responses=errors(404))
async def file_metadata(
    file_id: FileId,
    user: ReaderUser,
    files: FileServiceDep,
    released_only: Annotated[bool, Query(description="The shop floor's view of it (404 unless released)")] = False,
) -> FileOut:
    return await files.get(file_id, user, include_deleted=roles.is_admin(user), released_only=released_only)


@router.post("/{file_id}/download-link", response_model=DownloadLink, responses=errors(400, 404))
async def download_link(
    file_id: FileId,
    user: ReaderUser,
    files: FileServiceDep,
    auth: AuthServiceDep,
    version: OptionalVersion = None,
    revision: OptionalRevision = None,
) -> DownloadLink:
    """A link to the content that works without an Authorization header, for this file only and
    for DOWNLOAD_LINK_SECONDS: a browser can follow it and stream the download to disk. The content route
    checks again, as the link's user, what that user may read."""
    await files.content(file_id, user, version=version, commit=None, revision=revision)
    token, expires_at = auth.download_link(user, file_id)
    query = {"dl": token}
    if version is not None:
        query["version"] = str(version)
    if revision is not None:
        query["revision"] = revision
    return DownloadLink(url=f"/api/files/{file_id}/content?{urlencode(query)}", expires_at=expires_at)


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file"},
        206: {"description": "The requested byte range"},
        304: {"description": "Not modified (`If-None-Match` names the blob)"},
        **errors(400, 404, 416),
    },
)
async def download(
    file_id: FileId,
    user: DownloadUser,
    files: FileServiceDep,
    version: OptionalVersion = None,
    commit: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F]{7,64}$")] = None,
    revision: OptionalRevision = None,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The latest version, a version number, the version made by a commit (either branch's), or a revision
    label (`?revision=B`); streamed. Viewers get the current revision as "latest" and released versions only.

    `ETag` is the Git blob id: `If-None-Match` answers 304, `Range: bytes=a-b` answers 206. An older version
    is named `OP10.v1.nc` (the name it had then, with its version), the latest keeps the file's name.
    """
    content = await files.content(file_id, user, version=version, commit=commit, revision=revision)
    headers = {
        "ETag": f'"{content.blob_sha}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(content.name),
        "X-Camvault-Version": str(content.version),
        "Cache-Control": "private, no-cache",
    }
    if if_none_match and content.blob_sha in {
        tag.strip().strip('"').removeprefix("W/").strip('"') for tag in if_none_match.split(",")
    }:
        return Response(status_code=304, headers=headers)
    start, end = 0, content.size - 1
    byte_range = parse_range(range_)
    if byte_range is not None:
        start, end = satisfiable(byte_range, content.size)
    partial = (start, end) != (0, content.size - 1) and content.size > 0
    headers["Content-Length"] = str(end - start + 1 if content.size else 0)
    if partial:
        headers["Content-Range"] = f"bytes {start}-{end}/{content.size}"
    return StreamingResponse(
        files.stream(content, start, end),
        status_code=206 if partial else 200,
        media_type="application/octet-stream",
        headers=headers,
    )


@router.get("/{file_id}/versions", response_model=HistoryPage, responses=errors(400, 404))
async def history(
    file_id: FileId,
    user: ReaderUser,
    files: FileServiceDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> HistoryPage:
    """Versions, newest first, each with the revision label it was released as (viewers: released ones only)."""
    return await files.history(file_id, user, cursor=cursor, limit=limit)


@router.get("/{file_id}/diff", response_model=TextDiff | BinaryDiff, responses=errors(404))
async def diff(
    file_id: FileId,
    user: ReaderUser,
    files: FileServiceDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=INT32_MAX)],
    to: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="Defaults to the latest version")] = None,
) -> TextDiff | BinaryDiff:
    """Unified diff for text files; sizes and blob ids for binary files."""
    return await files.diff(file_id, user, from_, to)


@router.get("/{file_id}/kind", response_model=FileKind, responses=errors(404))
async def kind(file_id: FileId, user: ReaderUser, files: FileServiceDep, version: OptionalVersion = None) -> FileKind:
    """Whether a version (default: the latest) is text, for which blame is offered, or binary."""
    return await files.kind(file_id, user, version)


@router.get("/{file_id}/blame", response_model=BlameOut, responses=errors(400, 404))
async def blame(file_id: FileId, user: ReaderUser, files: FileServiceDep, version: OptionalVersion = None) -> BlameOut:
    """Per line of a text file: the version, author and date that last changed it."""
    return await files.blame(file_id, user, version)


@router.post("/{file_id}/move", response_model=FileOut, responses=errors(400, 404, 409, 415, 503))
async def move_file(file_id: FileId, body: FileMoveIn, user: WriterUser, moves: MoveServiceDep) -> FileOut:
    """Rename a file or move it to another folder (`path` is its whole new path): one commit, and the file
    keeps its id, versions, lock and history. 409 while someone else has it checked out, or when the new path
    is taken (any case); the same name rules as an upload (400/415)."""
    return await moves.move_file(file_id, user, body.path)


@router.delete("/{file_id}", response_model=FileOut, responses=errors(404, 409, 503))
async def delete_file(
    file_id: FileId,
    admin: AdminUser,
    files: FileServiceDep,
    force: Annotated[bool, Query(description="Delete even when checked out; releases the lock")] = False,
) -> FileOut:
    """Soft delete: the file leaves the vault's head, its history stays and it can be restored."""
    return await files.delete(file_id, admin, force=force)


@router.post("/{file_id}/restore", response_model=FileOut, responses=errors(404, 409, 503))
async def restore_file(file_id: FileId, admin: AdminUser, files: FileServiceDep) -> FileOut:
    return await files.restore(file_id, admin)
