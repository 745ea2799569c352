"""Read-only Git smart HTTP for the vault: `git clone http://host/git/vault.git` (gitprotocol-http(5))."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import AuthServiceDep, GitHttpServiceDep, GitUser, basic_user
from app.api.duplex import DuplexStreamingResponse
from app.api.responses import errors
from app.core.errors import BadRequest, UnsupportedType
from app.schemas.errors import ErrorOut

router = APIRouter(prefix="/git/vault.git", tags=["git"])

_BASIC_401: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No or wrong credentials (`WWW-Authenticate: Basic`)"}
}


def _answers(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}
    }


# Proxies and clients must never answer a fetch from a cache: the branch moves with every check-in.
NO_CACHE = {"Cache-Control": "no-cache, max-age=0, must-revalidate", "Pragma": "no-cache", "Expires": "0"}
UPLOAD_PACK_REQUEST = "application/x-git-upload-pack-request"


@router.get(
    "/info/refs",
    response_class=Response,
    responses=_answers("application/x-git-upload-pack-advertisement", "Ref advertisement (pkt-lines)")
    | _BASIC_401
    | errors(400),
)
async def info_refs(
    request: Request,
    auth: AuthServiceDep,
    git: GitHttpServiceDep,
    service: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Ref advertisement (`?service=git-upload-pack`); `git-receive-pack` answers that pushes are refused."""
    if service == "git-receive-pack":
        # No credentials needed to be told no: the message reaches the user at once.
        return Response(
            git.push_refused(advertisement=True),
            media_type="application/x-git-receive-pack-advertisement",
            headers=NO_CACHE,
        )
    if service != "git-upload-pack":
        raise BadRequest(
            "Only Git's smart HTTP protocol is served: use a git client (info/refs?service=git-upload-pack)"
        )
    user = await basic_user(request, auth)
    return DuplexStreamingResponse(
        lambda _body: git.advertisement(user),
        media_type="application/x-git-upload-pack-advertisement",
        headers=NO_CACHE,
    )


@router.post(
    "/git-upload-pack",
    response_class=Response,
    responses=_answers("application/x-git-upload-pack-result", "The pack, streamed (pkt-lines)")
    | _BASIC_401
    | errors(415),
)
async def upload_pack(request: Request, user: GitUser, git: GitHttpServiceDep) -> Response:
    """Fetch: the client's wants and haves in, the pack out, both streamed."""
    if request.headers.get("content-type", "").split(";")[0].strip() != UPLOAD_PACK_REQUEST:
        raise UnsupportedType(f"Expected Content-Type: {UPLOAD_PACK_REQUEST}")
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise UnsupportedType(f"Unsupported Content-Encoding: {encoding}")
    gzipped = encoding in ("gzip", "x-gzip")
    return DuplexStreamingResponse(
        lambda body: git.fetch(user, body, gzipped=gzipped),
        media_type="application/x-git-upload-pack-result",
        headers=NO_CACHE,
    )


@router.post(
    "/git-receive-pack",
    response_class=Response,
    responses={403: {"description": "Always: an `ERR` pkt-line saying to check in through camvault"}},
)
async def receive_pack(git: GitHttpServiceDep) -> Response:
    """Push is refused: files are checked in through camvault, where locks, versions and audit apply."""
    return Response(
        git.push_refused(advertisement=False),
        status_code=403,
        media_type="application/x-git-receive-pack-result",
        headers=NO_CACHE,
    )
