"""Hostile file names through the real API of a real server, then a real `git clone`.

Every name of issue 16 (and its family) is refused with a 400 that says why and changes nothing; the odd but
harmless names are stored; afterwards a clone with Git's own protections on (core.protectNTFS,
core.protectHFS, transfer.fsckObjects) checks every file out, and the vault passes `git fsck --strict`. A file
whose name an older camvault accepted keeps working: read, checked out and checked in.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.services.paths import path_problems
from tests.cli import NO_BACKGROUND_SWEEP, camvault_async
from tests.conftest import sql
from tests.hostile_names import ACCEPTED, REFUSED
from tests.interop.conftest import GitAs, api
from tests.invariants import assert_vault_consistent
from tests.live_server import LiveServer
from tests.vault import commit_as_older_camvault


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=NO_BACKGROUND_SWEEP)


PROTECTED_CLONE = ("-c", "core.protectNTFS=true", "-c", "core.protectHFS=true", "-c", "transfer.fsckObjects=true")


def _upload_raw(client: httpx.Client, name: str, data: bytes, folder: str = "") -> httpx.Response:
    """One file whose name travels exactly as given (raw UTF-8, only '\\' and '"' escaped in the quoted string):
    httpx would percent-encode some of these characters, and a hostile client does not."""
    boundary = "hostile-name-boundary"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    parts = []
    if folder:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="folder"\r\n\r\n{folder}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{quoted}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/api/files", content=b"".join(parts), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )


async def test_hostile_names_are_refused_and_the_vault_still_clones_everywhere(
    server: LiveServer, git_as: GitAs, db: AsyncSession, settings: Settings
) -> None:
    with api(server, "alice") as alice:
        for name, reason in REFUSED.items():
            r = _upload_raw(alice, name, b"G0 X0\n")
            assert r.status_code == 400, (name, r.status_code, r.text)
            assert reason in r.json()["detail"], (name, r.json()["detail"])
        for folder, name in ((".git.", "x.nc"), ("aux", "x.nc"), ("jobs/git~1", "x.nc"), ("-x", "y.nc")):
            r = _upload_raw(alice, name, b"G0 X0\n", folder=folder)
            assert r.status_code == 400, (folder, r.text)
        assert await sql(db, "SELECT count(*) FROM files") == [(0,)]
        assert await sql(db, "SELECT count(*) FROM audit_events WHERE action LIKE 'file.%'") == [(0,)]

        contents = {name: f"G0 X{i}\n".encode() for i, name in enumerate(ACCEPTED)}
        for name, data in contents.items():
            r = _upload_raw(alice, name, data)
            assert r.status_code == 201, (name, r.text)
            assert r.json()["files"][0]["path"] == name

    bob = git_as("bob")
    bob.run(*PROTECTED_CLONE, "clone", bob.remote, "vault")
    work = bob.home / "vault"
    for name, data in contents.items():
        assert (work / name).read_bytes() == data, name
    await assert_vault_consistent(db, settings.data_dir)


async def test_a_file_stored_before_the_rules_keeps_working(
    server: LiveServer, git_as: GitAs, db: AsyncSession, settings: Settings
) -> None:
    """`NUL.nc` and `jobs/-rf.nc` as an older camvault stored them (a commit with its trailers, then
    `camvault reindex`): refused as new names today, but their files are read, checked out and checked in."""
    repo = settings.data_dir / "vault.git"
    with api(server, "alice") as alice:
        assert _upload_raw(alice, "jobs/op10.nc", b"G0\n").status_code == 201
    server.stop()  # the older release stores them, then the new one starts
    commit_as_older_camvault(repo, {"NUL.nc": b"G0 X1\n", "jobs/-rf.nc": b"G0 X1\n"}, "alice")
    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    server.start()
    with api(server, "alice") as alice:
        for legacy in ("NUL.nc", "jobs/-rf.nc"):
            assert path_problems(legacy)  # camvault doctor lists it
            r = alice.get("/api/files/by-path", params={"path": legacy})
            assert r.status_code == 200, r.text
            file_id = r.json()["id"]
            assert alice.get(f"/api/files/{file_id}/content").content == b"G0 X1\n"
            assert alice.post(f"/api/files/{file_id}/checkout", json={"message": "edit"}).status_code == 200
            r = alice.post(
                f"/api/files/{file_id}/checkin",
                files={"file": ("anything.nc", b"G0 X2\n", "application/octet-stream")},
                data={"message": "new feed"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["file"]["version"] == 2 and r.json()["file"]["path"] == legacy
            assert alice.get(f"/api/files/{file_id}/content").content == b"G0 X2\n"
        # ...while the same names are refused as new files.
        assert _upload_raw(alice, "nul.nc", b"x").status_code == 400

    bob = git_as("bob")
    bob.clone()
    assert (bob.home / "vault" / "NUL.nc").read_bytes() == b"G0 X2\n"
    await assert_vault_consistent(db, settings.data_dir)
