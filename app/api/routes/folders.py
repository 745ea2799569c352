from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import FolderServiceDep, MoveServiceDep, ReaderUser, WriterUser
from app.api.params import NoNul
from app.api.responses import errors
from app.schemas.file import FolderIn, FolderList, FolderMoveIn, FolderMoveOut, FolderOut

router = APIRouter(prefix="/folders", tags=["folders"], responses=errors(401, 403))

FolderPath = Annotated[str, Query(max_length=1024, description="A folder's path, e.g. `jobs/1042`"), NoNul]


@router.get("", response_model=FolderList)
async def list_folders(
    user: ReaderUser,
    folders: FolderServiceDep,
    parent: Annotated[str, Query(max_length=1024, description="Folder to look in; empty for the top"), NoNul] = "",
    released_only: Annotated[bool, Query(description="Count released files only (always so for viewers)")] = False,
) -> FolderList:
    """The folders directly inside `parent`: those holding files and empty ones someone made, in natural,
    case-insensitive order, with how many files each holds at any depth."""
    return await folders.list(parent, user, released_only=released_only)


@router.post("", response_model=FolderOut, status_code=status.HTTP_201_CREATED, responses=errors(400, 409))
async def create_folder(body: FolderIn, user: WriterUser, folders: FolderServiceDep) -> FolderOut:
    """Make a folder. It stays (empty) until it is deleted; Git holds it once a file is put in it.
    The same name rules as files (no extension needed); 409 when it exists (any case) or a file is there."""
    return await folders.create(user, body.path)


@router.post("/move", response_model=FolderMoveOut, responses=errors(400, 404, 409, 503))
async def move_folder(body: FolderMoveIn, user: WriterUser, moves: MoveServiceDep) -> FolderMoveOut:
    """Rename or move a folder with everything in it: one commit for all its files, each keeping its id and
    history. 409 while any file in it is checked out by someone else, or when the new path exists."""
    return await moves.move_folder(user, body.path, body.to)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=errors(400, 404, 409))
async def delete_folder(path: FolderPath, user: WriterUser, folders: FolderServiceDep) -> None:
    """Delete an empty folder (409 while it holds files or folders; deleted files do not count), and its data
    card: a folder made again at that path starts with an empty one (the old values stay in the audit log)."""
    await folders.delete(user, path)
