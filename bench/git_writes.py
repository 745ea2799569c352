"""A small upload's Git work into a big vault: the git-process path (before issue 17) against libgit2 (now).

    .venv/bin/python -m bench.git_writes [files in the vault, default 10000] [writes, default 60]

Not part of `make bench` (which measures the whole request): this isolates the Git work that issue 17
moved in-process. The process path commits one small file with git commands (see process_write); the
libgit2 path is the store's own code (GitWrites: write_blobs, commit, move_ref), with fsync on. Both write into the same
vault, folders of 100 files, seeded with git fast-import.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.storage.git_store import GitStore, Identity, TreeChange

WHO = Identity("bench", "bench@example.com")


def seed(repo: Path, files: int) -> None:
    stream = [b"commit refs/heads/main\ncommitter c <c@x> 1700000000 +0000\ndata 4\nseed\n"]
    stream += [f"M 100644 inline j{i // 100:04d}/f{i}.nc\ndata 5\nseed\n\n".encode() for i in range(files)]
    subprocess.run(["git", f"--git-dir={repo}", "fast-import", "--quiet"], input=b"".join(stream), check=True)


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", f"--git-dir={repo}", *args], input=stdin, capture_output=True, check=True)
    return done.stdout.decode("utf-8", "surrogateescape")


def process_write(repo: Path, source: Path, path: str) -> None:
    """One small file committed through git processes, as the store did before issue 17.

    Eight processes here; the old store ran six (it edited the two trees in Python between one `cat-file
    --batch` and one `hash-object -t tree`), so this path is a little slower than the old one was.
    """
    blob = git(repo, "-c", "core.fsync=committed", "hash-object", "-w", "--no-filters", str(source)).strip()
    parent = git(repo, "rev-parse", "refs/heads/main").strip()
    folder, name = path.rsplit("/", 1)
    listing = git(repo, "ls-tree", parent, folder + "/")
    entries = [line.replace(f"\t{folder}/", "\t") for line in listing.splitlines()]
    sub = git(repo, "mktree", stdin=("\n".join([*entries, f"100644 blob {blob}\t{name}"]) + "\n").encode()).strip()
    top = [line for line in git(repo, "ls-tree", parent).splitlines() if not line.endswith(f"\t{folder}")]
    root = git(repo, "mktree", stdin=("\n".join([*top, f"040000 tree {sub}\t{folder}"]) + "\n").encode()).strip()
    commit = git(repo, "commit-tree", root, "-p", parent, "-m", "bench").strip()
    git(repo, "update-ref", "refs/heads/main", commit, parent)


async def libgit2_write(store: GitStore, source: Path, path: str) -> None:
    [blob] = await store.writes.write_blobs([source])
    parent = await store.reads.ref(store.ref)
    result = await store.writes.commit(parent, [TreeChange(path, blob)], author=WHO, message="bench")
    await store.writes.move_ref(store.ref, result.commit_sha)


async def main(files: int, writes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="camvault-git-writes-") as tmp:
        store = GitStore(Path(tmp) / "vault.git")
        await store.ensure_repo()
        seed(store.path, files)
        timings: dict[str, list[float]] = {"git processes": [], "libgit2": []}
        for i in range(writes):
            source = Path(tmp) / f"s{i}"
            source.write_bytes(b"G0 X0 Y0 small upload %d\n" % i)
            for kind in timings:  # interleaved, so a slow spell of the machine falls on both
                started = time.perf_counter()
                path = f"j{i % 50:04d}/{kind[:3]}{i}.nc"
                if kind == "libgit2":
                    await libgit2_write(store, source, path)
                else:
                    process_write(store.path, source, path)
                timings[kind].append(time.perf_counter() - started)
        git(store.path, "fsck", "--strict", "--no-dangling")
        for kind, values in timings.items():
            values = values[max(1, writes // 10) :]  # warm-up
            print(f"{kind:14s} p50 {statistics.median(values) * 1000:6.2f} ms  ({files} files, {len(values)} writes)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, int(sys.argv[2]) if len(sys.argv) > 2 else 60))
