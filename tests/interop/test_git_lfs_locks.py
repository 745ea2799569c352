"""`git lfs lock`, `locks` and `unlock` with the real git-lfs client: the same locks as the web UI, events included."""

from __future__ import annotations

import asyncio

from tests.interop.conftest import GitAs, GitClient, api
from tests.live_server import LiveServer
from tests.realtime import joined, token_for


def seed_and_clone(server: LiveServer, git_as: GitAs, *users: str) -> tuple[int, list[GitClient]]:
    with api(server, "alice") as alice:
        r = alice.post(
            "/api/files",
            files=[("files", ("op10.nc", b"G0 X0\n", "application/octet-stream"))],
            data={"folder": "jobs"},
        )
        assert r.status_code == 201, r.text
        file_id = r.json()["files"][0]["id"]
    clients = []
    for user in users:
        client = git_as(user)
        client.clone()
        clients.append(client)
    return file_id, clients


async def lfs(client: GitClient, *args: str, check: bool = True) -> str:
    result = await asyncio.to_thread(client.run, "lfs", *args, cwd=client.home / "vault", check=check)
    return result.stdout + result.stderr


async def test_git_lfs_lock_is_a_camvault_check_out_seen_at_once(server: LiveServer, git_as: GitAs) -> None:
    file_id, [alice] = seed_and_clone(server, git_as, "alice")
    async with joined(server, await token_for(server, "bob")) as watcher:
        out = await lfs(alice, "lock", "jobs/op10.nc")
        assert "Locked jobs/op10.nc" in out
        event = await watcher.expect("file_locked", file_id=file_id)
        assert event["user"] == "alice" and event["message"] == "git lfs lock"
    with api(server, "bob") as bob:
        locks = bob.get("/api/locks").json()
        assert [(lk["path"], lk["holder"]) for lk in locks] == [("jobs/op10.nc", "alice")]
        r = bob.post(f"/api/files/{file_id}/checkout", json={})
        assert r.status_code == 409 and r.json()["detail"]["holder"] == "alice"


async def test_git_lfs_locks_lists_a_lock_taken_in_the_web_ui(server: LiveServer, git_as: GitAs) -> None:
    file_id, [bob] = seed_and_clone(server, git_as, "bob")
    with api(server, "alice") as alice:
        assert alice.post(f"/api/files/{file_id}/checkout", json={"message": "web"}).status_code == 200
    out = await lfs(bob, "locks")
    assert out.split() == ["jobs/op10.nc", "alice", f"ID:{file_id}"]
    out = await lfs(bob, "lock", "jobs/op10.nc", check=False)
    assert "File is checked out by alice" in out


async def test_unlock_by_another_user_is_refused_and_an_admin_may_force(server: LiveServer, git_as: GitAs) -> None:
    file_id, [alice, bob, boss] = seed_and_clone(server, git_as, "alice", "bob", "boss")
    await lfs(alice, "lock", "jobs/op10.nc")
    async with joined(server, await token_for(server, "alice")) as watcher:
        refused = await asyncio.to_thread(bob.run, "lfs", "unlock", "jobs/op10.nc", cwd=bob.home / "vault", check=False)
        assert refused.returncode != 0
        assert "locked by alice" in refused.stderr
        refused = await asyncio.to_thread(
            bob.run, "lfs", "unlock", "--force", "jobs/op10.nc", cwd=bob.home / "vault", check=False
        )
        assert refused.returncode != 0 and "Only an admin" in refused.stderr
        with api(server, "bob") as web:
            assert [lk["holder"] for lk in web.get("/api/locks").json()] == ["alice"]
        out = await lfs(boss, "unlock", "--force", "jobs/op10.nc")
        assert "Unlocked jobs/op10.nc" in out
        event = await watcher.expect("file_unlocked", file_id=file_id)
        assert event["reason"] == "force_released" and event["by"] == "boss" and event["user"] == "alice"
    with api(server, "boss") as web:
        assert web.get("/api/locks").json() == []
        audit = web.get("/api/admin/audit", params={"action": "lock.force_released"})
        assert [e["actor_name"] for e in audit.json()["items"]] == ["boss"]


async def test_the_holder_unlocks_with_git_lfs(server: LiveServer, git_as: GitAs) -> None:
    file_id, [alice] = seed_and_clone(server, git_as, "alice")
    await lfs(alice, "lock", "jobs/op10.nc")
    async with joined(server, await token_for(server, "bob")) as watcher:
        assert "Unlocked jobs/op10.nc" in await lfs(alice, "unlock", "jobs/op10.nc")
        event = await watcher.expect("file_unlocked", file_id=file_id)
        assert event["reason"] == "released" and event["user"] == "alice"
