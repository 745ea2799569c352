"""The `released` branch: its ref, and the commit messages from which `camvault reindex` rebuilds revisions.

Its tree holds exactly the current revision of every released, non-obsolete, live file, at the file's path.
Each release, adoption, obsolete, reinstate, delete, restore or move of a released file is one commit on it,
authored by whoever did it (the last approver for a release). Its history is its own: its first commit has
no parent, so cloning it never brings a work-in-progress object along.

A message is a readable subject, an optional comment, and trailers:

    Release jobs/op10.nc as revision B (version 3)

    Proved out on the DMU 50, first part measured OK.

    Camvault-Action: release
    Camvault-User: bob
    Camvault-Revision: B
    Camvault-Submitted-By: anna
    Camvault-Approved-By: carol
    Camvault-Approved-By: bob
    Camvault-File: B 3 5f0c…e2 jobs/op10.nc

`Camvault-File: <label> <version> <main-branch commit of that version> <path>` names each file the commit is
about, even when the tree does not change (a version whose content equals the previous revision's); reindex
reads those lines, never the diff. `Camvault-Revision` is for people (`git log --grep`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.models import User
from app.storage.git_store import ref_name

RELEASED = ref_name("released")

# release: through a review; adopt: camvault release-all; obsolete / reinstate; delete / restore (an admin);
# move: a released file was renamed or moved on `main`, and its revision follows it here.
ACTIONS = ("release", "adopt", "obsolete", "reinstate", "delete", "restore", "move")


@dataclass(frozen=True)
class ReleasedFile:
    label: str
    version: int
    source: str  # the main-branch commit that made this version
    path: str


@dataclass
class ReleasedCommit:
    """What a released-branch commit's trailers say."""

    action: str | None = None
    user: str | None = None
    approved_by: list[str] = field(default_factory=list)
    files: list[ReleasedFile] = field(default_factory=list)


def released_message(
    summary: str,
    action: str,
    user: User,
    files: Sequence[ReleasedFile],
    *,
    comment: str = "",
    approved_by: Sequence[str] = (),
    submitted_by: str | None = None,
    revision: str | None = None,
) -> str:
    assert action in ACTIONS, action
    text = summary if not comment.strip() else f"{summary}\n\n{comment.strip()}"
    trailers = [f"Camvault-Action: {action}", f"Camvault-User: {user.username}"]
    label = files[0].label if len(files) == 1 else revision
    if label:
        trailers.append(f"Camvault-Revision: {label}")
    if submitted_by:
        trailers.append(f"Camvault-Submitted-By: {submitted_by}")
    trailers += [f"Camvault-Approved-By: {name}" for name in approved_by]
    trailers += [f"Camvault-File: {f.label} {f.version} {f.source} {f.path}" for f in files]
    return text + "\n\n" + "\n".join(trailers) + "\n"


def parse_released(message: str) -> ReleasedCommit:
    """The trailers of a released-branch commit (the last block of `Camvault-` lines), in order."""
    out = ReleasedCommit()
    lines = message.rstrip("\n").split("\n")
    block: list[tuple[str, str]] = []
    while lines and lines[-1].startswith("Camvault-") and ":" in lines[-1]:
        key, value = lines.pop().split(":", 1)
        block.append((key, value.strip()))
    for key, value in reversed(block):
        if key == "Camvault-Action":
            out.action = value
        elif key == "Camvault-User":
            out.user = value
        elif key == "Camvault-Approved-By":
            out.approved_by.append(value)
        elif key == "Camvault-File":
            parts = value.split(" ", 3)
            if len(parts) == 4 and parts[1].isdigit():
                out.files.append(ReleasedFile(parts[0], int(parts[1]), parts[2], parts[3]))
    return out
