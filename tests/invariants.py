"""What must hold of the vault after any test that attacks it: reuse these at the end of such tests.

- `git fsck --strict` of the vault is clean: no object Git would refuse (a `.git` look-alike in a tree is a
  hasDotgit error under --strict), so every clone with transfer.fsckObjects works.
- The catalog equals Git: the live files and their blobs are exactly the branch head's tree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import sql


def assert_git_fsck_strict(repo: Path) -> None:
    result = subprocess.run(
        ["git", "-C", str(repo), "fsck", "--strict", "--no-dangling", "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"git fsck --strict failed on {repo}:\n{result.stdout}{result.stderr}"
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith(("error", "warning"))]
    assert problems == [], problems


def git_head_tree(repo: Path, branch: str = "main") -> dict[str, str]:
    """path -> blob id of every file at the branch head (empty before the first commit)."""
    has_branch = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], capture_output=True
    )
    if has_branch.returncode != 0:
        return {}
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "-z", "--full-tree", f"refs/heads/{branch}"],
        check=True,
        capture_output=True,
    ).stdout
    tree: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if entry:
            meta, _, path = entry.partition(b"\t")
            tree[path.decode("utf-8", "surrogateescape")] = meta.split()[2].decode()
    return tree


async def assert_catalog_matches_git(db: AsyncSession, repo: Path) -> None:
    rows = await sql(db, "SELECT path, blob_sha FROM files WHERE deleted_at IS NULL")
    catalog = {str(path): str(blob) for path, blob in rows}
    assert catalog == git_head_tree(repo)


async def assert_vault_consistent(db: AsyncSession, data_dir: Path) -> None:
    repo = data_dir / "vault.git"
    assert_git_fsck_strict(repo)
    await assert_catalog_matches_git(db, repo)
