from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from app.storage import loose
from app.storage.git_store import (
    BlobInfo,
    BlobTooLarge,
    CommitResult,
    GitStore,
    GitStoreError,
    Identity,
    TreeChange,
    TreeConflict,
)

ROOT = Path(__file__).resolve().parents[2]
MakeFile = Callable[[bytes | str], Path]
ANN = Identity("Ann Öberg", "ann@example.com")
BOB = Identity("Bob", "bob@example.com")


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    """Independent checks run the git binary directly, not through the code under test."""
    done = subprocess.run(
        ["git", f"--git-dir={repo}", "--literal-pathspecs", *args], input=input, capture_output=True, check=True
    )
    return done.stdout.decode()


@dataclass(frozen=True)
class Change:
    """Store the file at `source` as `path`; or store the existing blob `blob_sha` there; or, with neither,
    delete `path`."""

    path: str
    source: Path | None
    blob_sha: str | None = None


class TestStore(GitStore):
    """The production store plus what these tests need to look at it: write() runs the pipeline's three Git
    steps (blobs, commit object, ref move) without a database; the readers use the git program directly."""

    async def write(self, changes: list[Change], *, author: Identity, message: str) -> CommitResult:
        stored = [c for c in changes if c.source is not None]
        blobs = dict(
            zip([c.path for c in stored], await self.writes.write_blobs([c.source for c in stored]), strict=True)
        )
        reused = await self.writes.existing_blobs([c.blob_sha for c in changes if c.blob_sha])
        tree_changes = []
        for c in changes:
            if c.blob_sha is not None and c.blob_sha not in reused:
                raise GitStoreError(f"No such blob: {c.blob_sha}")
            tree_changes.append(TreeChange(c.path, blobs.get(c.path) or reused.get(c.blob_sha or "")))
        parent = await self.head()
        result = await self.writes.commit(parent, tree_changes, author=author, message=message)
        await self.writes.move_ref(self.ref, result.commit_sha)
        return result

    async def head(self) -> str | None:
        return await self.reads.ref(self.ref)

    async def commits(self):  # type: ignore[no-untyped-def]
        return await self.history.commits(await self.head())

    async def fsck(self) -> bool:
        return await self.repo.fsck()

    async def read_blob(self, sha: str, limit: int) -> bytes:
        return await self.reads.read_blob(sha, limit)

    def stream_blob(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.reads.stream_blob(*args, **kwargs)

    async def blob_at(self, rev: str, path: str) -> BlobInfo | None:
        out = git(self.path, "ls-tree", "-l", "-z", rev, "--", path)
        for entry in out.split("\0"):
            meta, _, name = entry.partition("\t")
            fields = meta.split()
            if name == path and len(fields) == 4 and fields[1] == "blob":
                return BlobInfo(fields[2], int(fields[3]))
        return None

    async def blob_size(self, sha: str) -> int:
        return int(git(self.path, "cat-file", "-s", sha))

    async def hash_file(self, source: Path) -> str:
        return git(self.path, "hash-object", "--no-filters", "--", str(source)).strip()


@pytest.fixture
def repo_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vault.git"


@pytest.fixture
def store(repo_path: Path) -> TestStore:
    store = TestStore(repo_path)
    asyncio.run(store.ensure_repo())
    return store


@pytest.fixture
def files(tmp_path: Path) -> MakeFile:
    """Make temp source files the way the upload code does."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    counter = iter(range(1_000_000))

    def make(content: bytes | str) -> Path:
        path = folder / f"upload-{next(counter)}"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return make


async def test_ensure_repo_creates_a_bare_repository_once(repo_path: Path) -> None:
    store = GitStore(repo_path)
    await store.ensure_repo()
    await store.ensure_repo()  # idempotent
    assert git(repo_path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(repo_path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert git(repo_path, "config", "core.fsync").strip() == "committed"
    assert [p.name for p in repo_path.parent.iterdir()] == ["vault.git"]  # no staging leftovers


async def test_relative_repository_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = TestStore(Path("data/vault.git"))
    await store.ensure_repo()
    Path("part.nc").write_bytes(b"G0\n")
    blob = (await store.write([Change("part.nc", Path("part.nc"))], author=ANN, message="rel")).blobs["part.nc"]
    assert b"".join([c async for c in store.stream_blob(blob.sha)]) == b"G0\n"


async def test_empty_repository(store: TestStore) -> None:
    assert await store.head() is None
    assert await store.commits() == []


async def test_write_and_read_back_exact_bytes(store: TestStore, repo_path: Path, files: MakeFile) -> None:
    content = bytes(range(256)) * 3 + b"\r\n\n"  # every byte value, and a trailing newline to keep
    result = await store.write([Change("jobs/a.nc", files(content))], author=ANN, message="Add a")

    assert result.parent_sha is None
    assert await store.head() == result.commit_sha
    blob = result.blobs["jobs/a.nc"]
    assert blob.size == len(content)
    assert blob.sha == git(repo_path, "hash-object", "--stdin", input=content).strip()
    assert await store.blob_at("main", "jobs/a.nc") == blob
    assert await store.blob_at(result.commit_sha, "jobs/a.nc") == blob
    assert await store.blob_at("main", "jobs") is None  # a folder is not a file
    assert await store.blob_at("main", "jobs/b.nc") is None
    assert await store.blob_size(blob.sha) == len(content)
    assert await store.read_blob(blob.sha, limit=len(content)) == content
    assert b"".join([chunk async for chunk in store.stream_blob(blob.sha)]) == content
    assert git(repo_path, "log", "-1", "--format=%an <%ae>|%cn|%s", "main").strip() == (
        "Ann Öberg <ann@example.com>|camvault|Add a"
    )


async def test_incompressible_files_are_stored_uncompressed_and_text_compressed(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    # Deflating data that does not shrink was most of a large upload's time; such blobs are stored at zlib level
    # 0 in the same commit as compressible ones, which keep the repository's level. Which is which is decided by
    # samples from the start, middle and end: a file that is noise there and zeros elsewhere is stored as is
    # (deflating it would have shrunk it to the noise), so the decision is visible in the object's size.
    size, window = 4 << 20, 64 << 10
    sampled = bytearray(size)
    for offset in (0, size // 2, size - window):
        sampled[offset : offset + window] = os.urandom(window)
    text = b"".join(b"G1 X%d.000 Y%d.500 Z-1.000 F800\n" % (i, i % 97) for i in range(80_000))
    small = b"G0 X0 Y0\nM30\n"
    contents = {"a/noise.stl": bytes(sampled), "a/long.nc": text, "a/small.nc": small}
    result = await store.write(
        [Change(path, files(content)) for path, content in contents.items()], author=ANN, message="mixed"
    )

    def loose_size(path: str) -> int:
        sha = result.blobs[path].sha
        return (repo_path / "objects" / sha[:2] / sha[2:]).stat().st_size

    assert loose_size("a/noise.stl") >= size  # stored, not deflated (level 0 adds a few framing bytes)
    assert loose_size("a/long.nc") < len(text) // 4  # deflated as before
    assert loose_size("a/small.nc") < len(small) + 20
    for path, content in contents.items():
        blob = result.blobs[path]
        assert blob.sha == git(repo_path, "hash-object", "--stdin", input=content).strip()
        assert b"".join([chunk async for chunk in store.stream_blob(blob.sha)]) == content
    assert git(repo_path, "fsck", "--no-dangling").strip() == ""


async def test_a_large_file_is_a_loose_object_stored_uncompressed_whatever_the_big_file_threshold(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    # `git hash-object -w` wrote a blob over core.bigFileThreshold (512 MiB unless set) into a pack at
    # pack.compression, deflated at zlib's default level unless that was set too (a 1 GiB upload took 46 s instead
    # of 15). Large blobs are now written here, always loose, at the level the samples chose: the threshold is
    # lowered so a 4 MiB file would have taken Git's pack path. Noise where sampled, zeros elsewhere, so a deflated
    # copy would be a fraction of its size.
    git(repo_path, "config", "core.bigFileThreshold", "1m")
    size, window = 4 << 20, 64 << 10
    sampled = bytearray(size)
    for offset in (0, size // 2, size - window):
        sampled[offset : offset + window] = os.urandom(window)
    result = await store.write([Change("a/big.stl", files(bytes(sampled)))], author=ANN, message="big")
    sha = result.blobs["a/big.stl"].sha
    assert sha == git(repo_path, "hash-object", "--stdin", input=bytes(sampled)).strip()
    stored = repo_path / "objects" / sha[:2] / sha[2:]
    assert stored.stat().st_size >= size  # stored, not deflated
    assert stored.stat().st_mode & 0o777 == 0o444  # read-only, as Git leaves its objects
    assert not list((repo_path / "objects" / "pack").glob("*.pack"))
    assert not list((repo_path / "objects").glob("tmp_obj_*"))
    assert b"".join([chunk async for chunk in store.stream_blob(sha)]) == bytes(sampled)
    assert git(repo_path, "fsck", "--strict", "--no-dangling").strip() == ""


async def test_a_large_file_stored_again_keeps_the_object_that_is_there(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    content = os.urandom(2 << 20)
    first = await store.write([Change("a/one.stl", files(content))], author=ANN, message="one")
    sha = first.blobs["a/one.stl"].sha
    stored = repo_path / "objects" / sha[:2] / sha[2:]
    before = stored.stat()
    os.utime(stored, (before.st_atime - 3600, before.st_mtime - 3600))
    second = await store.write([Change("a/two.stl", files(content))], author=ANN, message="two")
    assert second.blobs["a/two.stl"].sha == sha
    after = stored.stat()
    assert after.st_ino == before.st_ino  # the same file: never replaced
    assert after.st_mtime > before.st_mtime - 3600  # freshened, so a prune leaves it until the commit names it
    assert not list((repo_path / "objects").glob("tmp_obj_*"))


def test_a_loose_object_whose_bytes_do_not_hash_to_gits_name_is_not_placed(tmp_path: Path) -> None:
    objects = tmp_path / "objects"
    objects.mkdir()
    source = tmp_path / "part.stl"
    source.write_bytes(os.urandom(1 << 20))
    written = loose.write_temp(loose.temp_path(objects), source, 0)
    wrong = "0" * 40
    with pytest.raises(GitStoreError, match="hash to"):
        loose.place(objects, written, wrong)
    assert sorted(p.name for p in objects.iterdir()) == []  # neither under the wrong name nor left as a temp file
    placed = loose.write_temp(loose.temp_path(objects), source, 0)
    loose.place(objects, placed, placed.sha)
    assert (objects / placed.sha[:2] / placed.sha[2:]).exists()


async def test_new_version_and_identical_content_are_both_commits(store: TestStore, files: MakeFile) -> None:
    first = await store.write([Change("a.nc", files("G0\n"))], author=ANN, message="v1")
    second = await store.write([Change("a.nc", files("G1\n"))], author=BOB, message="v2")
    third = await store.write([Change("a.nc", files("G1\n"))], author=BOB, message="v3 same bytes")

    assert second.parent_sha == first.commit_sha
    assert third.parent_sha == second.commit_sha
    assert third.blobs["a.nc"] == second.blobs["a.nc"]
    assert await store.blob_at(first.commit_sha, "a.nc") == first.blobs["a.nc"]
    assert await store.hash_file(files("G1\n")) == second.blobs["a.nc"].sha
    assert [c.sha for c in await store.commits()] == [first.commit_sha, second.commit_sha, third.commit_sha]


async def test_delete_and_restore(store: TestStore, files: MakeFile) -> None:
    added = await store.write(
        [Change("a.nc", files("A\n")), Change("keep/b.nc", files("B\n"))], author=ANN, message="two files"
    )
    await store.write([Change("a.nc", None)], author=BOB, message="delete a")
    assert await store.blob_at("main", "a.nc") is None
    assert await store.blob_at("main", "keep/b.nc") == added.blobs["keep/b.nc"]

    restored = await store.write(
        [Change("a.nc", None, blob_sha=added.blobs["a.nc"].sha)], author=BOB, message="restore a"
    )
    assert restored.blobs["a.nc"] == added.blobs["a.nc"]
    assert await store.blob_at("main", "a.nc") == added.blobs["a.nc"]
    assert [[(f.path, f.status) for f in c.changes] for c in await store.commits()] == [
        [("a.nc", "A"), ("keep/b.nc", "A")],
        [("a.nc", "D")],
        [("a.nc", "A")],
    ]


async def test_failing_write_leaves_the_branch_unchanged(store: TestStore, repo_path: Path, files: MakeFile) -> None:
    base = await store.write([Change("a.nc", files("A\n"))], author=ANN, message="base")

    with pytest.raises(GitStoreError):
        await store.write(
            [Change("b.nc", files("B\n")), Change("c.nc", repo_path.parent / "does-not-exist")],
            author=ANN,
            message="broken",
        )
    with pytest.raises(GitStoreError, match="No such blob"):
        await store.write([Change("b.nc", None, blob_sha="1" * 40)], author=ANN, message="bad restore")
    with pytest.raises(TreeConflict):  # a file cannot silently become a folder
        await store.write([Change("a.nc/inner.nc", files("X\n"))], author=ANN, message="file to folder")
    with pytest.raises(ValueError, match="only once"):
        await store.write([Change("a.nc", None), Change("a.nc", None)], author=ANN, message="twice")

    assert await store.head() == base.commit_sha
    assert git(repo_path, "rev-list", "--count", "main").strip() == "1"
    assert await store.fsck()


async def test_history_with_unicode_paths_and_metadata(store: TestStore, files: MakeFile) -> None:
    paths = ["Kunden/Müller GmbH/Welle Ø20.nc", "治具/夹具 1.nc", "with\ttab?/-dash ,comma.nc", ":(glob)*.nc"]
    first = await store.write([Change(p, files(p)) for p in paths], author=ANN, message="Import\n\nfrom the old share")
    second = await store.write([Change(paths[0], files("v2"))], author=BOB, message="Ändern")

    commits = await store.commits()
    assert [c.sha for c in commits] == [first.commit_sha, second.commit_sha]
    one, two = commits
    assert (one.parent_sha, two.parent_sha) == (None, first.commit_sha)
    assert (one.author_name, one.author_email) == (ANN.name, ANN.email)
    assert one.message == "Import\n\nfrom the old share"
    assert two.message == "Ändern"
    assert one.authored_at.tzinfo is not None
    assert abs((datetime.now(UTC) - one.authored_at).total_seconds()) < 60
    assert {f.path: (f.status, f.blob) for f in one.changes} == {p: ("A", first.blobs[p]) for p in paths}
    assert [(f.path, f.status, f.blob) for f in two.changes] == [(paths[0], "M", second.blobs[paths[0]])]
    assert await store.blob_at("main", paths[3]) == first.blobs[paths[3]]


async def test_commits_reads_thousands_of_commits_in_one_pass(store: TestStore, repo_path: Path) -> None:
    # Build 3000 commits quickly with fast-import rather than through the code under test.
    stream = []
    for i in range(3000):
        data = f"rev {i}\n".encode()
        stream.append(
            b"commit refs/heads/main\n"
            + f"author W{i % 7} <w@x> {1_700_000_000 + i} +0100\ncommitter c <c@x> {1_700_000_000 + i} +0000\n".encode()
            + f"data {len(f'c{i}')}\nc{i}\n".encode()
            + f"M 100644 inline part {i % 50}.nc\ndata {len(data)}\n".encode()
            + data
            + b"\n"
        )
    git(repo_path, "fast-import", "--quiet", input=b"".join(stream))

    started = time.monotonic()
    commits = await store.commits()
    elapsed = time.monotonic() - started

    assert len(commits) == 3000
    assert elapsed < 10, elapsed
    assert [c.message for c in commits[:3]] == ["c0", "c1", "c2"]
    last = commits[-1]
    assert last.author_name == "W3"  # 2999 % 7
    assert last.authored_at.utcoffset() is not None and last.authored_at.utcoffset().total_seconds() == 3600
    assert [(f.path, f.status) for f in last.changes] == [("part 49.nc", "M")]
    assert last.changes[0].blob is not None and last.changes[0].blob.size == len("rev 2999\n")
    assert [(f.path, f.status) for f in commits[0].changes] == [("part 0.nc", "A")]


# A writer process: waits for the go file so all writers start together, then makes `count` commits at once.
WRITER = """
import asyncio, sys, time
from pathlib import Path
from app.storage.git_store import GitStore

repo, go = Path(sys.argv[1]), Path(sys.argv[4])
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal")
    time.sleep(0.002)
asyncio.run(GitStore(repo).ensure_repo())
"""


def run_writers(repo: Path, tmp: Path, workers: int, per_worker: int) -> None:
    go = tmp / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(repo), str(w), str(per_worker), str(go), str(tmp)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        for w in range(workers)
    ]
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()


def assert_linear_with_paths(repo: Path, paths: set[str], *, commits: int) -> None:
    assert git(repo, "rev-list", "--count", "main").strip() == str(commits)
    assert git(repo, "rev-list", "--merges", "main").strip() == ""
    # Linear: every commit but the root has exactly one parent.
    parents = [line.split()[1:] for line in git(repo, "rev-list", "--parents", "main").splitlines()]
    assert sorted(len(p) for p in parents) == [0] + [1] * (commits - 1)
    assert set(git(repo, "ls-tree", "-r", "-z", "--name-only", "main").split("\0")) - {""} == paths
    git(repo, "fsck", "--strict", "--no-dangling")  # raises on any error


def test_processes_racing_to_create_the_repository(repo_path: Path, tmp_path: Path) -> None:
    run_writers(repo_path, tmp_path, workers=6, per_worker=0)
    assert git(repo_path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert [p.name for p in repo_path.parent.iterdir()] == ["vault.git"]


async def test_stream_large_blob_in_chunks_and_ranges(store: TestStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    content = os.urandom(20 * 1024 * 1024 + 123)
    source.write_bytes(content)
    blob = (await store.write([Change("big.pdf", source)], author=ANN, message="big")).blobs["big.pdf"]
    assert blob.size == len(content)

    digest, sizes = hashlib.sha256(), []
    async for chunk in store.stream_blob(blob.sha, chunk_size=1 << 16):
        digest.update(chunk)
        sizes.append(len(chunk))
    assert digest.digest() == hashlib.sha256(content).digest()
    assert max(sizes) <= 1 << 16 and len(sizes) >= len(content) // (1 << 16)

    async def part(start: int, end: int | None) -> bytes:
        return b"".join([c async for c in store.stream_blob(blob.sha, start, end, chunk_size=50_000)])

    assert await part(1_000_001, 5_000_007) == content[1_000_001:5_000_007]
    assert await part(len(content) - 10, None) == content[-10:]
    assert await part(len(content) - 10, len(content) + 99) == content[-10:]
    assert await part(7, 7) == b""
    with pytest.raises(BlobTooLarge):
        await store.read_blob(blob.sha, limit=1024)


async def test_stream_stopped_early_kills_git(store: TestStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * (8 * 1024 * 1024))
    blob = (await store.write([Change("big.nc", source)], author=ANN, message="big")).blobs["big.nc"]
    me = psutil.Process()

    stream = store.stream_blob(blob.sha, chunk_size=1024)
    assert len(await anext(stream)) <= 1024  # type: ignore[arg-type]
    assert any("git" in child.name() for child in me.children())
    await stream.aclose()  # type: ignore[attr-defined]
    assert not [c for c in me.children() if "git" in c.name() and c.status() != psutil.STATUS_ZOMBIE]
    assert not [c for c in me.children() if "git" in c.name()]  # reaped, not left as a zombie


async def test_stream_unknown_blob_fails(store: TestStore) -> None:
    with pytest.raises(GitStoreError):
        _ = [c async for c in store.stream_blob("1" * 40)]


async def test_line_origins_follow_a_sequence_of_blobs_not_a_path(store: TestStore, files: MakeFile) -> None:
    """Blame over a file's versions wherever they were: here three blobs at three different paths."""
    first = await store.write([Change("a/p.nc", files("G0 X0\nG1 X1\nM30\n"))], author=ANN, message="v1")
    second = await store.write([Change("b/q.nc", files("G0 X0\nG1 X2 (Ø fix)\nM30\n"))], author=BOB, message="v2")
    third = await store.write([Change("c/r.nc", files("N1 G0 X0\nG1 X2 (Ø fix)\nM30"))], author=ANN, message="v3")
    blobs = [(r.blobs[p].sha, r.blobs[p].size) for r, p in ((first, "a/p.nc"), (second, "b/q.nc"), (third, "c/r.nc"))]
    assert await store.history.line_origins(blobs[:1], 1 << 20) == [0, 0, 0]
    assert await store.history.line_origins(blobs[:2], 1 << 20) == [0, 1, 0]
    # A changed line, and a last line without its newline, belong to the version that changed them.
    assert await store.history.line_origins(blobs, 1 << 20) == [2, 1, 2]
    # A version too big to read (or binary) hands every line of the next one to that one.
    assert await store.history.line_origins(blobs, 10) == []
    assert await store.history.line_origins([blobs[0], (blobs[1][0], 1 << 30), blobs[2]], 1 << 20) == [2, 2, 2]
    names = await store.history.authors([first.commit_sha, second.commit_sha])
    assert names == {first.commit_sha: ANN.name, second.commit_sha: BOB.name}


async def test_move_ref_goes_forward_never_back_and_repairs_a_foreign_tip(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    first = await store.write([Change("a.nc", files("A\n"))], author=ANN, message="a")
    blob = (await store.writes.write_blobs([files("B\n")]))[0]
    second = await store.writes.commit(first.commit_sha, [TreeChange("b.nc", blob)], author=ANN, message="b")
    third = await store.writes.commit(second.commit_sha, [TreeChange("c.nc", blob)], author=ANN, message="c")
    # Unreferenced until moved: the branch still names the first commit.
    assert await store.head() == first.commit_sha
    assert await store.writes.move_ref(store.ref, third.commit_sha) == "moved"
    # A slower mover of an older commit finds the ref past it and leaves it.
    assert await store.writes.move_ref(store.ref, second.commit_sha) == "already"
    assert await store.head() == third.commit_sha
    # A tip off the catalog's history (an older release's crash) is replaced, not built upon.
    foreign = git(repo_path, "commit-tree", f"{first.commit_sha}^{{tree}}", "-p", first.commit_sha, "-m", "x").strip()
    git(repo_path, "update-ref", store.ref, foreign)
    fourth = await store.writes.commit(third.commit_sha, [TreeChange("d.nc", blob)], author=ANN, message="d")
    assert await store.writes.move_ref(store.ref, fourth.commit_sha) == "repaired"
    assert await store.head() == fourth.commit_sha


async def test_a_stale_ref_lock_is_reported_and_cleared_and_never_makes_a_write_wait(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    first = await store.write([Change("a.nc", files("A\n"))], author=ANN, message="a")
    lock = repo_path / "refs" / "heads" / "main.lock"
    lock.write_text(first.commit_sha + "\n")  # a power cut during a ref update leaves this behind
    assert [found.path for found in store.repo.ref_locks()] == [lock]
    assert store.repo.stale_ref_locks() == []  # young: a live writer may hold it
    blob = (await store.writes.write_blobs([files("B\n")]))[0]
    second = await store.writes.commit(first.commit_sha, [TreeChange("b.nc", blob)], author=ANN, message="b")
    started = time.monotonic()
    with pytest.raises(GitStoreError, match="lock"):
        await store.writes.move_ref(store.ref, second.commit_sha)
    assert time.monotonic() - started < 5  # refused at once, not after Git's lock timeout and retries
    old = time.time() - 120
    os.utime(lock, (old, old))
    assert [found.path for found in store.repo.stale_ref_locks()] == [lock]
    assert [found.path for found in store.repo.clear_stale_ref_locks()] == [lock]
    assert not lock.exists()
    assert await store.writes.move_ref(store.ref, second.commit_sha) == "moved"


async def test_fsck_detects_a_damaged_object(store: TestStore, repo_path: Path, files: MakeFile) -> None:
    blob = (await store.write([Change("a.nc", files("A\n"))], author=ANN, message="a")).blobs["a.nc"]
    assert await store.fsck()
    loose = repo_path / "objects" / blob.sha[:2] / blob.sha[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib at all")
    assert not await store.fsck()


def tree_in_index(repo: Path, parent: str, changes: list[Change]) -> str:
    """The tree Git itself builds for the changes, through an index file (the independent check)."""
    env = {**os.environ, "GIT_DIR": str(repo), "GIT_INDEX_FILE": str(repo / "test-index")}

    def run(*args: str, stdin: bytes | None = None) -> str:
        return subprocess.run(["git", *args], env=env, input=stdin, capture_output=True, check=True).stdout.decode()

    run("read-tree", parent)
    lines = []
    for c in changes:
        if c.source is None:
            lines.append(f"0 {'0' * 40}\t{c.path}\0")  # mode 0 removes the entry
        else:
            lines.append(f"100644 {run('hash-object', '-w', '--', str(c.source)).strip()}\t{c.path}\0")
    run("update-index", "-z", "--index-info", stdin="".join(lines).encode())
    return run("write-tree").strip()


async def test_trees_built_from_touched_folders_match_a_full_index_build(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    # A commit's tree is built by rewriting only the folders it touches. Random adds, changes and deletes in
    # nested folders, with names that sort differently as files and as folders ("a" and "a.b", "a-", "a0"),
    # must give exactly the tree a full index build gives, and exactly the files written so far.
    import random

    rng = random.Random(8)
    names = ["a", "a.b", "a-", "a0", "Ø", "z z", ":(glob)x"]
    folders = ["", "a", "a/a", "a/a.b", "a-", "Ø/z z", "jobs/J0042/ops"]
    model: dict[str, bytes] = {}
    parent = (await store.write([Change("seed.nc", files("seed\n"))], author=ANN, message="seed")).commit_sha
    model["seed.nc"] = b"seed\n"
    for step in range(40):
        changes: list[Change] = []
        touched: set[str] = set()
        for _ in range(rng.randint(1, 4)):
            folder = rng.choice(folders)
            path = f"{folder}/{rng.choice(names)}.nc" if folder else f"{rng.choice(names)}.nc"
            if path in touched:
                continue
            touched.add(path)
            if path in model and rng.random() < 0.4:
                changes.append(Change(path, None))
                del model[path]
            else:
                content = f"{path} {step}\n".encode()
                changes.append(Change(path, files(content)))
                model[path] = content
        if not changes:
            continue
        expected_tree = tree_in_index(repo_path, parent, changes)
        result = await store.write(changes, author=ANN, message=f"step {step}")
        assert git(repo_path, "rev-parse", f"{result.commit_sha}^{{tree}}").strip() == expected_tree, step
        parent = result.commit_sha

    listed = git(repo_path, "ls-tree", "-r", "-z", "--name-only", "main").split("\0")
    assert sorted(p for p in listed if p) == sorted(model)
    for path, content in model.items():
        assert git(repo_path, "cat-file", "blob", f"main:{path}").encode() == content
    assert git(repo_path, "fsck", "--no-dangling", "--strict").strip() == ""


async def test_emptied_folders_disappear_and_folders_cannot_become_files(
    store: TestStore, repo_path: Path, files: MakeFile
) -> None:
    await store.write(
        [Change("keep.nc", files("k\n")), Change("d/e/only.nc", files("o\n")), Change("d/x.nc", files("x\n"))],
        author=ANN,
        message="base",
    )
    await store.write([Change("d/e/only.nc", None)], author=ANN, message="empty d/e")
    assert git(repo_path, "ls-tree", "--name-only", "main", "d/").split() == ["d/x.nc"]
    await store.write([Change("d/x.nc", None)], author=ANN, message="empty d")
    assert git(repo_path, "ls-tree", "--name-only", "main").split() == ["keep.nc"]

    head = await store.head()
    await store.write([Change("f/inner.nc", files("i\n"))], author=ANN, message="folder f")
    with pytest.raises(TreeConflict, match="folder"):  # a folder cannot silently become a file
        await store.write([Change("f", files("F\n"))], author=ANN, message="folder to file")
    with pytest.raises(TreeConflict):  # nor a file a folder, even within one commit
        await store.write([Change("g.nc", files("g\n")), Change("g.nc/h.nc", files("h\n"))], author=ANN, message="both")
    assert git(repo_path, "rev-list", "--count", "main").strip() == "4"
    assert head is not None
    await store.write([Change("f/inner.nc", None)], author=ANN, message="empty f")
    assert git(repo_path, "ls-tree", "--name-only", "main").split() == ["keep.nc"]
    assert await store.fsck()
