"""The tutorial design: the shape a FastAPI file vault takes when built the way tutorials teach.

Issue 20 compares camvault with it: locks in a JSON file under `flock`, the catalog in another JSON file, and
a GitPython commit per change in a working tree, plain `def` routes (so FastAPI runs them in its thread pool),
served by the same Gunicorn with two Uvicorn workers. It answers the routes the comparisons use, for the
same bearer tokens (checked with python-jose, as camvault checks them):

- `POST /api/files/{id}/checkout` and `.../checkin`: the locks file read, decided and written under `flock`;
- `POST /api/files` (multipart `files`, form `folder`): the files written into the working tree, `git add`
  and one commit through GitPython, the catalog file extended, all under one `flock`;
- `GET /api/files`: the whole catalog as one JSON list.

Started by bench/designs.py with TUTORIAL_DIR (its folder, made by `prepare`) and FLOOR_SECRET set.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import git
from fastapi import FastAPI, File, Form, Header, HTTPException, UploadFile
from jose import JWTError, jwt

LOCK_HOURS = 8
ROOT = Path(os.environ.get("TUTORIAL_DIR", "."))
SECRET = os.environ.get("FLOOR_SECRET", "")
app = FastAPI()


def prepare(root: Path, files: list[dict[str, Any]]) -> None:
    """A new vault under `root`: an empty Git working tree, no locks, a catalog of `files` (id, path, size)."""
    root.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(root / "repo")
    with repo.config_writer() as config:
        config.set_value("user", "name", "tutorial")
        config.set_value("user", "email", "tutorial@example.invalid")
    (root / "locks.json").write_text("{}")
    (root / "files.json").write_text(json.dumps(files))


@contextmanager
def exclusive(name: str) -> Iterator[Path]:
    path = ROOT / name
    with (ROOT / f"{name}.lock").open("a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def current_user(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise JWTError("no bearer token")
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        return str(claims["sub"])
    except (JWTError, KeyError):
        raise HTTPException(401, "Invalid token") from None


@app.post("/api/files/{file_id}/checkout")
def checkout(file_id: int, body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
    user = current_user(authorization)
    with exclusive("locks.json") as path:
        locks = json.loads(path.read_text())
        held = locks.get(str(file_id))
        if held is not None and held["user"] != user and held["expires"] > time.time():
            raise HTTPException(409, f"Checked out by {held['user']}")
        lock = {"user": user, "message": str(body.get("message", "")), "expires": time.time() + LOCK_HOURS * 3600}
        locks[str(file_id)] = lock
        path.write_text(json.dumps(locks))
    return {"id": file_id, "lock": lock}


@app.post("/api/files/{file_id}/checkin")
def checkin(file_id: int, authorization: str | None = Header(None)) -> dict[str, Any]:
    user = current_user(authorization)
    with exclusive("locks.json") as path:
        locks = json.loads(path.read_text())
        held = locks.get(str(file_id))
        if held is None or held["user"] != user:
            raise HTTPException(409, "You do not hold this file")
        del locks[str(file_id)]
        path.write_text(json.dumps(locks))
    return {"id": file_id, "lock": None}


@app.post("/api/files")
def upload(
    files: Annotated[list[UploadFile], File()],
    folder: Annotated[str, Form()] = "",
    authorization: str | None = Header(None),
) -> dict[str, Any]:
    user = current_user(authorization)
    repo = git.Repo(ROOT / "repo")
    with exclusive("files.json") as path:
        catalog = json.loads(path.read_text())
        taken = {f["path"] for f in catalog}
        added: list[dict[str, Any]] = []
        for upload in files:
            name = f"{folder}/{upload.filename}" if folder else str(upload.filename)
            if name in taken:
                raise HTTPException(409, f"{name} already exists")
            target = ROOT / "repo" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            data = upload.file.read()
            target.write_bytes(data)
            added.append({"id": len(catalog) + len(added) + 1, "path": name, "size": len(data), "by": user})
        repo.index.add([str(f["path"]) for f in added])
        repo.index.commit(f"Upload {len(added)} files by {user}")
        catalog += added
        path.write_text(json.dumps(catalog))
    return {"files": added}


@app.get("/api/files")
def listing(authorization: str | None = Header(None)) -> list[dict[str, Any]]:
    current_user(authorization)
    with exclusive("files.json") as path:
        return list(json.loads(path.read_text()))
