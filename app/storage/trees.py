"""Git tree objects edited in memory: the new trees a commit needs, built from only the folders it touches.

Building a commit's tree in an index file costs as much as the vault is large (git reads and writes every
entry), which made every write slower as the vault grew (make bench: ~48 ms a write at 10,000 files). A
commit that changes `Jobs/J0042/OP10.nc` only needs new trees for `Jobs/J0042`, `Jobs` and the root: this
module reads those (raw, through `git cat-file --batch`), edits them and serialises the new ones, which the
Git store writes with `git hash-object -t tree`. Git checks every tree it is given (sorted entries, valid
modes), and the store checks that Git's ids match the ones computed here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

TREE_MODE = b"40000"
BLOB_MODE = b"100644"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class TreeConflict(ValueError):
    """A change would turn a file into a folder or a folder into a file."""


@dataclass
class Tree:
    """One folder's entries: name -> (mode, sha as hex)."""

    entries: dict[bytes, tuple[bytes, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: bytes) -> Tree:
        """A tree object's content: entries of `<mode> <name>\\0<20-byte sha>`."""
        entries: dict[bytes, tuple[bytes, str]] = {}
        i = 0
        while i < len(raw):
            space = raw.index(b" ", i)
            nul = raw.index(b"\0", space)
            entries[raw[space + 1 : nul]] = (raw[i:space], raw[nul + 1 : nul + 21].hex())
            i = nul + 21
        return cls(entries)

    def serialise(self) -> bytes:
        # Git's order: by name bytes, a folder's name compared as if it ended in "/".
        def key(name: bytes) -> bytes:
            return name + b"/" if self.entries[name][0] == TREE_MODE else name

        return b"".join(
            self.entries[name][0] + b" " + name + b"\0" + bytes.fromhex(self.entries[name][1])
            for name in sorted(self.entries, key=key)
        )


def object_id(kind: str, content: bytes) -> str:
    """The id Git gives an object (SHA-1 repositories)."""
    return hashlib.sha1(f"{kind} {len(content)}\0".encode() + content, usedforsecurity=False).hexdigest()


def folders_of(paths: list[str]) -> list[str]:
    """Every folder holding one of `paths`, the root ("") included, deepest first."""
    found = {""}
    for path in paths:
        parts = path.split("/")
        found.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return sorted(found, key=_deepest_first)


def _deepest_first(folder: str) -> tuple[int, str]:
    return (-folder.count("/") if folder else 1, folder)


def edit(trees: dict[str, Tree | None], stored: dict[str, str], removed: list[str]) -> tuple[str, dict[str, bytes]]:
    """Apply the changes to the folders' current trees (None: the folder does not exist yet).

    `trees` holds every folder from folders_of(changed paths); `stored` maps a path to its blob. Returns the
    new root tree's id and the new trees by id (the content to write). A folder left empty disappears from
    its parent, as Git does. Raises TreeConflict when a path runs through a file or replaces a folder.
    """
    work = {folder: Tree(dict(tree.entries)) if tree else Tree() for folder, tree in trees.items()}

    def split(path: str) -> tuple[str, bytes]:
        folder, _, name = path.rpartition("/")
        return folder, name.encode("utf-8", "surrogateescape")

    for folder in work:
        if folder:
            parent, name = split(folder)
            above = trees[parent]
            if above is not None and above.entries.get(name, (TREE_MODE, ""))[0] != TREE_MODE:
                raise TreeConflict(f"{folder!r} is a file, it cannot hold files")
    for path in removed:
        folder, name = split(path)
        if work[folder].entries.get(name, (b"", ""))[0] not in (b"", TREE_MODE):
            del work[folder].entries[name]
    for path, blob in stored.items():
        if path in work:
            raise TreeConflict(f"{path!r} cannot be a file and hold files in one commit")
        folder, name = split(path)
        if work[folder].entries.get(name, (b"", ""))[0] == TREE_MODE:
            raise TreeConflict(f"{path!r} is a folder, it cannot become a file")
        work[folder].entries[name] = (BLOB_MODE, blob)

    written: dict[str, bytes] = {}
    root = EMPTY_TREE
    for folder in sorted(work, key=_deepest_first):  # children before their parents, the root last
        tree = work[folder]
        content = tree.serialise()
        sha = object_id("tree", content)
        if not folder:
            root = sha
            written[sha] = content
            break
        parent, name = split(folder)
        if tree.entries:
            written[sha] = content
            work[parent].entries[name] = (TREE_MODE, sha)
        else:
            work[parent].entries.pop(name, None)
    return root, written
