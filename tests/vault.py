"""Helpers for tests that upload, check out and check in through the real API."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    files: dict[str, bytes],
    *,
    folder: str = "",
    message: str = "",
) -> httpx.Response:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files.items()]
    return await client.post("/api/files", files=parts, data={"folder": folder, "message": message}, headers=headers)


async def upload_raw_name(client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes) -> httpx.Response:
    """Upload one file whose name travels as raw UTF-8 bytes in the multipart header.

    httpx (like browsers) percent-encodes control characters and quotes in file names, so a NUL or
    a BEL would never reach the server through `upload`; a hostile client can send them as they are.
    """
    boundary = "camvault-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode("utf-8", "surrogateescape")
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return await client.post(
        "/api/files", content=body, headers=headers | {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )


async def upload_one(client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes) -> dict[str, object]:
    r = await upload(client, headers, {name: data})
    assert r.status_code == 201, r.text
    return r.json()["files"][0]  # type: ignore[no-any-return]


async def check_in(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    file_id: object,
    data: bytes | None,
    *,
    message: str = "",
    keep_locked: bool = False,
    base_version: int | None = None,
    name: str | None = None,
) -> httpx.Response:
    """A check-in; the content is sent under the file's own name (a new version keeps its file's type) unless
    `name` says otherwise."""
    form = {"message": message, "keep_locked": "true" if keep_locked else "false"}
    if base_version is not None:
        form["base_version"] = str(base_version)
    if data is not None and name is None:
        found = await client.get(f"/api/files/{file_id}", headers=headers)
        name = str(found.json()["path"]).rsplit("/", 1)[-1] if found.status_code == 200 else "upload.nc"
    files = [("file", (name, data, "application/octet-stream"))] if data is not None else None
    if files is None:
        # multipart without a file part: a release with a message
        return await client.post(f"/api/files/{file_id}/checkin", data=form, files={"_": (None, "")}, headers=headers)
    return await client.post(f"/api/files/{file_id}/checkin", data=form, files=files, headers=headers)


async def new_version(
    client: httpx.AsyncClient, headers: dict[str, str], file_id: object, data: bytes, message: str = "edit"
) -> dict[str, object]:
    r = await client.post(f"/api/files/{file_id}/checkout", json={"message": message}, headers=headers)
    assert r.status_code == 200, r.text
    r = await check_in(client, headers, file_id, data, message=message)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def transition(
    client: httpx.AsyncClient, headers: dict[str, str], file_id: object, action: str, comment: str | None = None
) -> httpx.Response:
    """A lifecycle action (submit, approve, reject, obsolete, reinstate), with a comment or none at all."""
    body = {"comment": comment} if comment is not None else None
    return await client.post(f"/api/files/{file_id}/{action}", json=body, headers=headers)


async def release(
    client: httpx.AsyncClient, submitter: dict[str, str], approver: dict[str, str], file_id: object
) -> dict[str, object]:
    """Submit the head version and approve it (RELEASE_APPROVALS=1): the answer of the approval."""
    r = await transition(client, submitter, file_id, "submit")
    assert r.status_code == 200, r.text
    r = await transition(client, approver, file_id, "approve", "proved out")
    assert r.status_code == 200, r.text
    assert r.json()["released"], r.text
    return r.json()  # type: ignore[no-any-return]


def git(repo: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, input=input
    ).stdout


def commit_as_older_camvault(repo: Path, files: dict[str, bytes], username: str) -> str:
    """Commit `files` on the branch the way an older camvault would have stored them (its trailers, so
    `camvault reindex` adopts them), with Git's plumbing, which judges no name: how a vault comes to hold
    names today's rules refuse. Returns the new commit.

    Do it, and the reindex after it, while no server runs (as in an upgrade): a running worker's sweep moves a
    Git ref that is ahead of the catalog back to the catalog's commit."""
    index = repo / f"legacy-{os.getpid()}.index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}

    def run(*args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], env=env, input=stdin, capture_output=True, check=True)
        return done.stdout.decode().strip()

    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", "refs/heads/main"], capture_output=True, text=True
    ).stdout.strip()
    try:
        if head:
            run("read-tree", head)
        for path, data in files.items():
            blob = run("hash-object", "-w", "--stdin", stdin=data)
            run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
        tree = run("write-tree")
    finally:
        index.unlink(missing_ok=True)
    message = f"legacy upload\n\nCamvault-Action: upload\nCamvault-User: {username}\n"
    commit = run("commit-tree", tree, *(["-p", head] if head else []), "-m", message)
    run("update-ref", "refs/heads/main", commit, *([head] if head else []))
    return commit
