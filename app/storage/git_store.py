"""The vault's Git repository, split by concern (DESIGN.md section 5, docs/design.md "Git store").

- `repository.py`: where the repository is, its setup and its checks (fsck, gc, stale ref locks);
- `runner.py`: the one way the `git` program is run;
- `writes.py`: blobs, trees and commit objects, ref moves;
- `reads.py`: refs, small blobs, blob streams;
- `history.py`: the first-parent log, and where each line of a file's versions came from (blame).

`GitStore` holds one of each for one repository. Only the write pipeline (`app/vault/`) writes.
"""

from __future__ import annotations

from pathlib import Path

from app.storage.history import CommitInfo, FileChange, GitHistory, split_lines
from app.storage.reads import BlobTooLarge, GitReads
from app.storage.repository import MAIN, VaultRepository, ref_name, repository_path
from app.storage.runner import GitStoreError, RefLocked, StorageFull
from app.storage.trees import TreeConflict
from app.storage.writes import BlobInfo, CommitResult, GitWrites, Identity, RefMove, TreeChange

__all__ = [
    "MAIN",
    "BlobInfo",
    "BlobTooLarge",
    "CommitInfo",
    "CommitResult",
    "FileChange",
    "GitStore",
    "GitStoreError",
    "Identity",
    "RefLocked",
    "RefMove",
    "StorageFull",
    "TreeChange",
    "TreeConflict",
    "ref_name",
    "split_lines",
]


class GitStore:
    def __init__(self, repo_path: Path, branch: str = MAIN) -> None:
        self.repo = VaultRepository(repo_path, branch)
        self.writes = GitWrites(self.repo)
        self.reads = GitReads(self.repo)
        self.history = GitHistory(self.repo)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> GitStore:
        return cls(repository_path(data_dir))

    @property
    def path(self) -> Path:
        return self.repo.path

    @property
    def ref(self) -> str:
        """The main branch's ref."""
        return self.repo.ref

    async def ensure_repo(self) -> None:
        await self.repo.ensure()
