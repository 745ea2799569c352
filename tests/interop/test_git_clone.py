"""`git clone`, `fetch`, `pull` and `push` with the real git client against a real server."""

from __future__ import annotations

import httpx

from app.core.config import Settings
from tests.conftest import PASSWORD
from tests.interop.conftest import GitAs, api
from tests.live_server import LiveServer
from tests.vault import git as vault_git


def seed(server: LiveServer) -> dict[str, int]:
    with api(server, "alice") as alice:
        parts = [("files", (name, data, "application/octet-stream")) for name, data in FILES.items()]
        r = alice.post("/api/files", files=parts, data={"folder": "jobs"})
        assert r.status_code == 201, r.text
        return {f["path"]: f["id"] for f in r.json()["files"]}


FILES = {"op10.nc": b"G0 X0 Y0\nG1 X10\n", "fixture.step": b"ISO-10303-21;\n"}


def test_clone_with_password_gives_the_vault_as_committed(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    alice = git_as("alice")
    alice.clone()
    work = alice.home / "vault"
    assert {p.relative_to(work).as_posix(): p.read_bytes() for p in (work / "jobs").iterdir()} == {
        f"jobs/{name}": data for name, data in FILES.items()
    }
    log = alice.run("log", "--format=%an", cwd=work).stdout.split()
    assert log == ["alice"]


def test_only_the_branch_is_advertised(server: LiveServer, git_as: GitAs, settings: Settings) -> None:
    seed(server)
    # A ref some tool left in the server's repository (or a write in progress) is never served.
    vault_git(settings.data_dir / "vault.git", "update-ref", "refs/camvault/scratch", "refs/heads/main")
    alice = git_as("alice")
    for version in ("2", "0"):
        out = alice.run("-c", f"protocol.version={version}", "ls-remote", alice.remote).stdout
        assert [line.split("\t")[1] for line in out.splitlines()] == ["HEAD", "refs/heads/main"], version


def test_a_commit_the_branch_does_not_reach_is_never_served(
    server: LiveServer, git_as: GitAs, settings: Settings
) -> None:
    seed(server)
    repo = settings.data_dir / "vault.git"
    # What a write leaves when its database transaction fails after the Git commit: a commit on disk
    # that no ref names (reindex would adopt it; until then it is not part of the vault's history).
    blob = vault_git(repo, "hash-object", "-w", "--stdin", input="G0 X666\n").strip()
    tree = vault_git(repo, "mktree", input=f"100644 blob {blob}\tstray.nc\n").strip()
    stray = vault_git(repo, "commit-tree", tree, "-p", "refs/heads/main", "-m", "lost transaction").strip()
    alice = git_as("alice")
    alice.clone()
    work = alice.home / "vault"
    for version in ("2", "0"):
        fetched = alice.run("-c", f"protocol.version={version}", "fetch", "origin", stray, cwd=work, check=False)
        assert fetched.returncode != 0, version
        assert "not our ref" in fetched.stderr or "unadvertised object" in fetched.stderr, fetched.stderr
    assert alice.run("cat-file", "-e", stray, cwd=work, check=False).returncode != 0


def test_clone_with_an_access_token_and_a_revoked_token_refused(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    with api(server, "bob") as bob:
        made = bob.post("/api/users/me/access-tokens", json={"name": "ci backup"}).json()
        git_as("bob", made["token"]).clone()
        assert bob.delete(f"/api/users/me/access-tokens/{made['id']}").status_code == 204
    refused = git_as("bob", made["token"]).clone(check=False)
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr


def test_wrong_password_is_refused(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    refused = git_as("alice", "not the password").clone(check=False)
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr


def test_fetch_and_pull_bring_a_new_check_in(server: LiveServer, git_as: GitAs) -> None:
    ids = seed(server)
    bob = git_as("bob")  # another reader (viewers clone the released branch: test_git_released.py)
    bob.clone()
    work = bob.home / "vault"
    with api(server, "alice") as alice:
        file_id = ids["jobs/op10.nc"]
        assert alice.post(f"/api/files/{file_id}/checkout", json={"message": "feeds"}).status_code == 200
        r = alice.post(
            f"/api/files/{file_id}/checkin",
            files={"file": ("op10.nc", b"G0 X0 Y0\nG1 X20 F300\n", "application/octet-stream")},
            data={"message": "faster feed"},
        )
        assert r.status_code == 200, r.text
    bob.run("fetch", cwd=work)
    assert "faster feed" in bob.run("log", "--format=%B", "origin/main", cwd=work).stdout
    bob.run("pull", "--ff-only", cwd=work)
    assert (work / "jobs/op10.nc").read_bytes() == b"G0 X0 Y0\nG1 X20 F300\n"


def test_push_is_refused_with_a_message_naming_camvault(server: LiveServer, git_as: GitAs) -> None:
    seed(server)
    alice = git_as("alice")
    alice.clone()
    work = alice.home / "vault"
    (work / "jobs/op10.nc").write_bytes(b"G0 X99\n")
    alice.run("commit", "-am", "sneaky edit", cwd=work)
    pushed = alice.run("push", "origin", "main", cwd=work, check=False)
    assert pushed.returncode != 0
    assert "remote error: camvault does not accept git push" in pushed.stderr
    assert "Check files in through camvault" in pushed.stderr
    fresh = git_as("bob")
    fresh.clone()
    assert (fresh.home / "vault/jobs/op10.nc").read_bytes() == FILES["op10.nc"]


def test_the_dumb_protocol_is_not_served(server: LiveServer) -> None:
    r = httpx.get(f"{server.url}/git/vault.git/info/refs", auth=("alice", PASSWORD))
    assert r.status_code == 400 and "smart HTTP" in r.json()["detail"]
