"""The released branch with the real git client: what a machine or a cell PC clones is what the floor may run."""

from __future__ import annotations

from tests.interop.conftest import GitAs, GitClient, api
from tests.live_server import LiveServer


def seed(server: LiveServer) -> dict[str, int]:
    """op10 released as A then changed (work in progress), op20 never released, fixture released as A."""
    with api(server, "alice") as alice, api(server, "boss") as boss:
        files = {"op10.nc": b"G0 X0\nG1 X10 F200\n", "op20.nc": b"G0 WIP ONLY\n", "fixture.step": b"ISO-10303-21;\n"}
        r = alice.post("/api/files", files=[("files", (n, d)) for n, d in files.items()], data={"folder": "jobs"})
        assert r.status_code == 201, r.text
        ids = {f["path"]: f["id"] for f in r.json()["files"]}
        for path in ("jobs/op10.nc", "jobs/fixture.step"):
            assert alice.post(f"/api/files/{ids[path]}/submit", json={}).status_code == 200
            r = boss.post(f"/api/files/{ids[path]}/approve", json={"comment": "proved out"})
            assert r.json()["released"] == "A", r.text
        assert alice.post(f"/api/files/{ids['jobs/op10.nc']}/checkout", json={"message": "x"}).status_code == 200
        r = alice.post(f"/api/files/{ids['jobs/op10.nc']}/checkin", files={"file": ("op10.nc", b"G0 WIP F999\n")})
        assert r.status_code == 200, r.text
        return ids


def advertised(client: GitClient, version: str) -> list[str]:
    out = client.run("-c", f"protocol.version={version}", "ls-remote", client.remote).stdout
    return [line.split("\t")[1] for line in out.splitlines()]


def test_a_viewer_clones_the_released_branch_and_nothing_else(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    vera = git_as("vera")  # a viewer: the shop floor
    for version in ("2", "0"):
        assert advertised(vera, version) == ["refs/heads/released"], version
    vera.run("clone", "-b", "released", vera.remote, "floor")
    work = vera.home / "floor"
    tree = {p.relative_to(work).as_posix(): p.read_bytes() for p in (work / "jobs").iterdir()}
    assert tree == {"jobs/op10.nc": b"G0 X0\nG1 X10 F200\n", "jobs/fixture.step": b"ISO-10303-21;\n"}
    log = vera.run("log", "--format=%an|%B", cwd=work).stdout
    assert log.count("Camvault-Action: release") == 2 and "Camvault-Revision: A" in log
    assert "Camvault-Approved-By: boss" in log and log.startswith("boss|")
    # Its history is its own: no commit of main, so no work-in-progress object, is in the clone.
    objects = vera.run("cat-file", "--batch-all-objects", "--batch-check", cwd=work).stdout
    blobs = [line.split()[0] for line in objects.splitlines() if line.split()[1] == "blob"]
    contents = {vera.run("cat-file", "-p", sha, cwd=work).stdout for sha in blobs}
    assert not any("WIP" in c for c in contents)


def test_a_viewer_cannot_fetch_mains_commits_by_id(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    alice = git_as("alice")
    alice.clone()
    main_tip = alice.run("rev-parse", "origin/main", cwd=alice.home / "vault").stdout.strip()
    vera = git_as("vera")
    vera.run("clone", "-b", "released", vera.remote, "floor")
    for version in ("2", "0"):
        fetched = vera.run(
            "-c", f"protocol.version={version}", "fetch", "origin", main_tip, cwd=vera.home / "floor", check=False
        )
        assert fetched.returncode != 0, version
        assert "not our ref" in fetched.stderr or "unadvertised object" in fetched.stderr, fetched.stderr
    # A plain clone finds no HEAD (HEAD is main's): git says so and checks nothing out.
    plain = vera.run("clone", vera.remote, "plain")
    assert "remote HEAD refers to nonexistent ref" in plain.stderr
    assert not (vera.home / "plain" / "jobs").exists()


def test_users_get_main_and_released(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    alice = git_as("alice")
    assert advertised(alice, "0") == ["HEAD", "refs/heads/main", "refs/heads/released"]
    alice.clone()
    assert (alice.home / "vault/jobs/op10.nc").read_bytes() == b"G0 WIP F999\n"  # main: the newest work
    alice.run("clone", "-b", "released", alice.remote, "floor")
    assert (alice.home / "floor/jobs/op10.nc").read_bytes() == b"G0 X0\nG1 X10 F200\n"
    assert not (alice.home / "floor/jobs/op20.nc").exists()


def test_a_new_release_reaches_the_floor_with_git_pull(server: LiveServer, git_as: GitAs) -> None:
    ids = seed(server)
    vera = git_as("vera")
    vera.run("clone", "-b", "released", vera.remote, "floor")
    with api(server, "alice") as alice, api(server, "boss") as boss:
        assert alice.post(f"/api/files/{ids['jobs/op10.nc']}/submit", json={}).status_code == 200
        assert boss.post(f"/api/files/{ids['jobs/op10.nc']}/approve", json={}).json()["released"] == "B"
        assert (
            boss.post(f"/api/files/{ids['jobs/fixture.step']}/obsolete", json={"comment": "scrapped"}).status_code
            == 200
        )
    vera.run("pull", "--ff-only", cwd=vera.home / "floor")
    assert (vera.home / "floor/jobs/op10.nc").read_bytes() == b"G0 WIP F999\n"  # revision B, released now
    assert not (vera.home / "floor/jobs/fixture.step").exists()
