"""The catalog is an index of the Git history: it agrees with `git log` after any sequence of
operations, and `camvault reindex` rebuilds deleted catalog rows exactly."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.cli import NO_BACKGROUND_SWEEP, camvault_async
from tests.conftest import Login, MakeUser, sql
from tests.vault import check_in, git, upload, upload_one


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=NO_BACKGROUND_SWEEP)


Headers = dict[str, str]

FILE_COLUMNS = (
    "f.path, f.path_key, f.sort_key, f.size, f.blob_sha, f.head_commit, f.version, f.created_by, f.created_at, "
    "f.updated_by, f.updated_at, f.deleted_at, f.deleted_by"
)
VERSION_COLUMNS = (
    "f.path, v.version, v.path, v.commit_sha, v.blob_sha, v.size, v.author_id, v.author_name, v.message, v.created_at"
)


async def catalog_snapshot(db: AsyncSession) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every catalog fact except surrogate ids, in a stable order (a file is known by its path and first commit)."""
    files = await sql(
        db,
        f"SELECT {FILE_COLUMNS}, (SELECT commit_sha FROM file_versions WHERE file_id = f.id AND version = 1) "
        "FROM files f ORDER BY f.path, f.created_at",
    )
    versions = await sql(
        db,
        f"SELECT {VERSION_COLUMNS} FROM file_versions v JOIN files f ON f.id = v.file_id "
        "ORDER BY f.path, v.commit_sha, v.version",
    )
    return files, versions


def git_history(repo: Path) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(commit, camvault action, [(status, path)]) oldest first, read with the git command line."""
    out = git(repo, "log", "--first-parent", "--reverse", "--no-renames", "--format=@@%H", "--name-status", "main")
    history = []
    for block in out.split("@@")[1:]:
        lines = [line for line in block.splitlines() if line]
        sha, changes = lines[0], [tuple(line.split("\t", 1)) for line in lines[1:]]
        message = git(repo, "log", "-1", "--format=%B", sha)
        action = re.search(r"^Camvault-Action: (\S+)$", message, re.M)
        history.append((sha, action.group(1) if action else "", changes))  # type: ignore[misc]
    return history


async def assert_catalog_matches_git(db: AsyncSession, repo: Path) -> None:
    # Live files are exactly the branch tip's tree, blob for blob.
    tree = {}
    for line in git(repo, "ls-tree", "-r", "-z", "main").split("\0"):
        if line:
            meta, path = line.split("\t", 1)
            tree[path] = meta.split()[2]
    live = dict(await sql(db, "SELECT path, blob_sha FROM files WHERE deleted_at IS NULL"))
    assert live == tree

    # Every version row is a (commit, path) that an upload or check-in commit added or changed, and back.
    history = git_history(repo)
    expected = {
        (sha, path) for sha, action, changes in history if action in ("upload", "checkin") for _, path in changes
    }
    # (A version is made at the path it had then: v.path; the file may have moved since.)
    rows = await sql(db, "SELECT v.commit_sha, v.path, v.blob_sha FROM file_versions v")
    assert {(c, p) for c, p, _ in rows} == expected
    assert len(rows) == len(expected)
    for commit, path, blob in rows:
        assert git(repo, "rev-parse", f"{commit}:{path}").strip() == blob

    # Each file's head commit is the last commit that touched its path while the file existed.
    heads = await sql(db, "SELECT path, head_commit, deleted_at IS NOT NULL FROM files")
    order = {sha: i for i, (sha, _, _) in enumerate(history)}
    for path, head, deleted in heads:
        statuses = {changed: status for status, changed in history[order[head]][2]}  # type: ignore[index]
        assert path in statuses, (path, head)
        assert (statuses[path] == "D") == deleted


@pytest.fixture
async def people(make_user: MakeUser, login: Login) -> tuple[Headers, Headers, Headers]:
    await make_user("anna", Role.user)
    await make_user("ben", Role.user)
    await make_user("boss", Role.admin)
    return await login("anna"), await login("ben"), await login("boss")


async def _random_history(client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], seed: int) -> None:
    """A seeded mix of uploads, check-ins (new and identical content), deletes, restores, renames, moves of files
    and of whole folders, and reuse of paths."""
    rng = random.Random(seed)
    anna, ben, boss = people
    files: list[dict[str, Any]] = []
    ops = ["upload", "upload", "checkin", "checkin", "checkin", "delete", "restore", "same", "rename", "folder"]
    for step in range(40):
        op = rng.choice(ops)
        who = rng.choice([anna, ben])
        if op == "folder":  # a whole folder renamed or moved (and sometimes back, or onto a taken name: 409)
            old, new = rng.choice([("jobs", "archive/jobs"), ("archive/jobs", "jobs"), ("jobs", "Jobs"), ("", "x")])
            r = await client.post("/api/folders/move", json={"path": old, "to": new}, headers=who)
            assert r.status_code in (200, 400, 404, 409), r.text
            continue
        if op == "upload" or not files:
            name = rng.choice(["op10.nc", "op20.nc", "Fixture.mcam", "setup.pdf", "notes.txt"])
            r = await upload(client, who, {name: f"{step} {rng.random()}\n".encode()}, folder=rng.choice(["", "jobs"]))
            assert r.status_code in (201, 409), r.text
            if r.status_code == 201:
                files.append(r.json()["files"][0])
            continue
        f = rng.choice(files)
        if op == "rename":
            name = rng.choice(["op10.nc", "op20.nc", "OP10.nc", "renamed.nc", "Fixture.mcam", "notes.txt"])
            current = (await client.get(f"/api/files/{f['id']}", headers=who)).json()
            if current.get("path", "").rsplit(".", 1)[-1] != name.rsplit(".", 1)[-1]:
                continue  # (a rename may change the type, but check-ins then need the new one; keep it simple)
            to = rng.choice(["", "jobs/", "archive/jobs/", "elsewhere/"]) + name
            r = await client.post(f"/api/files/{f['id']}/move", json={"path": to}, headers=who)
            assert r.status_code in (200, 400, 404, 409), r.text
            continue
        if op in ("checkin", "same"):
            if (
                await client.post(f"/api/files/{f['id']}/checkout", json={"message": op}, headers=who)
            ).status_code != 200:
                continue
            if op == "same":  # identical content: no new version, no commit
                body = (await client.get(f"/api/files/{f['id']}/content", headers=who)).content
            else:
                body = f"step {step}\n{rng.random()}\n".encode()
            r = await check_in(client, who, f["id"], body, message=f"step {step}")
            assert r.status_code == 200, r.text
        elif op == "delete":
            r = await client.delete(f"/api/files/{f['id']}", params={"force": "true"}, headers=boss)
            assert r.status_code in (200, 404), r.text
        elif op == "restore":
            r = await client.post(f"/api/files/{f['id']}/restore", headers=boss)
            assert r.status_code in (200, 404, 409), r.text


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_catalog_matches_git_log_after_a_random_history(
    client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], db: AsyncSession, settings: Settings, seed: int
) -> None:
    await _random_history(client, people, seed)
    await assert_catalog_matches_git(db, settings.data_dir / "vault.git")


async def test_reindex_restores_deleted_catalog_rows_exactly(
    client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], db: AsyncSession, settings: Settings
) -> None:
    await _random_history(client, people, seed=7)
    anna, _, boss = people
    kept = await upload_one(client, anna, "kept/deleted.nc", b"gone soon\n")
    await client.delete(f"/api/files/{kept['id']}", headers=boss)
    before = await catalog_snapshot(db)
    assert len(before[0]) >= 5 and len(before[1]) >= 10

    # Lose some version rows of one file and two whole files (one of them soft-deleted).
    await _delete_rows(db)
    assert await catalog_snapshot(db) != before

    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    assert "versions added" in done.stdout
    assert await catalog_snapshot(db) == before
    await assert_catalog_matches_git(db, settings.data_dir / "vault.git")

    again = await camvault_async(settings, "reindex")  # idempotent: nothing left to add
    assert "0 files added, 0 updated, 0 versions added" in again.stdout
    assert await catalog_snapshot(db) == before
    reindexed = await sql(db, "SELECT count(*) FROM audit_events WHERE action = 'vault.reindexed'")
    assert reindexed == [(1,)]


async def _delete_rows(db: AsyncSession) -> None:
    await db.execute(text("DELETE FROM locks"))
    with_history = (
        await db.execute(text("SELECT file_id FROM file_versions GROUP BY file_id HAVING count(*) > 1 LIMIT 1"))
    ).scalar_one()
    await db.execute(
        text("DELETE FROM file_versions WHERE file_id = :f AND version > 1"),
        {"f": with_history},
    )
    victims = (
        (
            await db.execute(
                text(
                    "(SELECT id FROM files WHERE deleted_at IS NOT NULL LIMIT 1) "
                    "UNION (SELECT id FROM files WHERE deleted_at IS NULL AND id <> :f LIMIT 1)"
                ),
                {"f": with_history},
            )
        )
        .scalars()
        .all()
    )
    assert len(victims) == 2
    await db.execute(text("DELETE FROM file_versions WHERE file_id = ANY(:ids)"), {"ids": list(victims)})
    await db.execute(text("DELETE FROM lock_history WHERE file_id = ANY(:ids)"), {"ids": list(victims)})
    await db.execute(text("DELETE FROM files WHERE id = ANY(:ids)"), {"ids": list(victims)})
    await db.commit()


async def test_reindex_never_makes_two_versions_of_one_commit_after_an_old_release_crash(
    client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], db: AsyncSession, settings: Settings, app: Any
) -> None:
    """Issue 16's exact scenario: an older release moved the branch to a commit B, then died before its catalog
    committed; the next check-in C was built on B. Git's history is A, B, C; the catalog's versions A, C.
    Reindex then added C a second time (as version 3). It must add nothing: B is skipped, C is known."""
    anna = people[0]
    part = await upload_one(client, anna, "cell/op20.nc", b"A\n")
    repo = settings.data_dir / "vault.git"
    a = str(part["head_commit"])
    message = "Check in cell/op20.nc\n\nCamvault-Action: checkin\nCamvault-User: anna"

    def commit_of(content: str, parent: str) -> tuple[str, str]:
        blob = git(repo, "hash-object", "-w", "--stdin", input=content).strip()
        folder = git(repo, "mktree", input="100644 blob " + blob + "\top20.nc\n").strip()
        root = git(repo, "mktree", input="040000 tree " + folder + "\tcell\n").strip()
        return git(repo, "commit-tree", root, "-p", parent, "-m", message).strip(), blob

    # B: what the old release wrote to the branch before dying (no catalog row); C: the next check-in, on B.
    b, _ = commit_of("B\n", a)
    c, blob_c = commit_of("C\n", b)
    git(repo, "update-ref", "refs/heads/main", c)
    async with app.state.sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO file_versions (file_id, version, path, commit_sha, blob_sha, size, author_id, "
                "author_name, message, created_at) SELECT id, 2, path, :c, :blob, 2, created_by, 'anna', '', now() "
                "FROM files"
            ),
            {"c": c, "blob": blob_c},
        )
        await session.execute(
            text("UPDATE files SET version = 2, head_commit = :c, blob_sha = :blob"), {"c": c, "blob": blob_c}
        )
        await session.execute(text("UPDATE vault_refs SET commit_sha = :c"), {"c": c})
        await session.commit()

    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    assert "0 versions added" in done.stdout and "1 commits skipped" in done.stdout
    assert await sql(db, "SELECT version, commit_sha FROM file_versions ORDER BY version") == [(1, a), (2, c)]


async def test_reindex_after_renames_and_folder_moves_rebuilds_the_same_catalog(
    client: httpx.AsyncClient, people: tuple[Headers, Headers, Headers], db: AsyncSession, settings: Settings
) -> None:
    """Renames come back from their trailers (Camvault-From/To): every file keeps its id's history, every
    version the path it was made at, and a path freed by a move can be taken by a new file."""
    anna, ben, boss = people
    op10 = await upload_one(client, anna, "jobs/1042/OP10.nc", b"G0 X0\n")
    sheet = await upload_one(client, anna, "jobs/1042/setup.pdf", b"%PDF-1.4 v1\n")
    assert (await check_in_version(client, ben, op10["id"], b"G0 X1\n")) == 2
    r = await client.post(f"/api/files/{op10['id']}/move", json={"path": "jobs/1042/op10-rough.nc"}, headers=anna)
    assert r.status_code == 200, r.text
    r = await client.post("/api/folders/move", json={"path": "jobs/1042", "to": "archive/2026/1042"}, headers=ben)
    assert r.status_code == 200, r.text
    assert (await check_in_version(client, ben, op10["id"], b"G0 X2\n")) == 3  # (ben: no cooldown for him)
    again = await upload_one(client, ben, "jobs/1042/OP10.nc", b"new program at the old path\n")
    r = await client.delete(f"/api/files/{sheet['id']}", headers=boss)
    assert r.status_code == 200, r.text
    before = await catalog_snapshot(db)
    paths = await sql(db, "SELECT version, path FROM file_versions WHERE file_id = :f ORDER BY version", f=op10["id"])
    assert paths == [(1, "jobs/1042/OP10.nc"), (2, "jobs/1042/OP10.nc"), (3, "archive/2026/1042/op10-rough.nc")]
    await assert_catalog_matches_git(db, settings.data_dir / "vault.git")

    # Lose the whole catalog of files and versions; reindex rebuilds it from Git alone, equal in every column.
    await db.execute(text("DELETE FROM locks"))
    await db.execute(text("DELETE FROM lock_history"))
    await db.execute(text("DELETE FROM file_versions"))
    await db.execute(text("DELETE FROM files"))
    await db.commit()
    done = await camvault_async(settings, "reindex")
    assert done.returncode == 0, done.stderr
    assert await catalog_snapshot(db) == before
    await assert_catalog_matches_git(db, settings.data_dir / "vault.git")
    rebuilt = await sql(db, "SELECT path, version FROM files WHERE deleted_at IS NULL ORDER BY path")
    assert rebuilt == [("archive/2026/1042/op10-rough.nc", 3), ("jobs/1042/OP10.nc", 1)]
    assert again["path"] == "jobs/1042/OP10.nc"
    again_run = await camvault_async(settings, "reindex")
    assert "0 files added, 0 updated, 0 versions added" in again_run.stdout


async def check_in_version(client: httpx.AsyncClient, who: Headers, file_id: object, data: bytes) -> int:
    assert (await client.post(f"/api/files/{file_id}/checkout", json={"message": "m"}, headers=who)).status_code == 200
    r = await check_in(client, who, file_id, data, message="next")
    assert r.status_code == 200, r.text
    return int(r.json()["head_version"])
