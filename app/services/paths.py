"""Vault path rules (docs/design.md, "Names"): what a file may be called, and when two names are the same file.

A stored name must check out everywhere a shop's clients run: Git's own checkout rules with both of its
protections on (`core.protectNTFS`, `core.protectHFS`: git's `verify_path`, `is_ntfs_dotgit` and
`is_hfs_dotgit`), Windows' file-name rules (git for Windows' `is_valid_win32_path`), and no name that
displays as something it is not. Names stored before a rule existed keep working: only new paths are
checked here, and `path_problems` lists what is wrong with a stored one (for `camvault doctor`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from posixpath import splitext

from app.core.errors import InvalidPath, UnsupportedType

MAX_COMPONENT_BYTES = 255  # what most filesystems allow for one name; clients check files out to disk
MAX_PATH_BYTES = 1024

# Characters Windows refuses in a file name (control characters are refused for everyone, below).
WINDOWS_RESERVED_CHARACTERS = frozenset('<>:"|?*')

# Device names Windows opens instead of a file, whatever extension follows (`nul.tar.nc` is NUL). Windows
# reads the superscript digits ¹²³ as digits here too; COM0 and LPT0 are reserved on current Windows.
_DEVICE_DIGITS = "0123456789\u00b9\u00b2\u00b3"
WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{d}" for d in _DEVICE_DIGITS}
    | {f"LPT{d}" for d in _DEVICE_DIGITS}
)

# Code points HFS+ ignores when it compares names, so `.git\u200c` is `.git` on a Mac (git's next_hfs_char).
HFS_IGNORED = frozenset([*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])

# NTFS synonyms of `.git` (git's is_ntfs_dotgit): trailing spaces and dots are dropped, `git~1` is its 8.3
# short name, and `.git::$INDEX_ALLOCATION` one of its streams. Any `git~N` is refused, not only `~1`: the
# short name is only `~1` while `.git` was the first such name in its folder.
_NTFS_DOTGIT = re.compile(r"(?:\.git|git~[1-9][0-9]*)[ .]*(?::.*)?", re.IGNORECASE | re.ASCII | re.DOTALL)

# Characters that are not a dot but look like one (NFKC folds most, e.g. U+2024 and U+FF0E, to '.'; these
# it keeps), from Unicode's confusables for FULL STOP.
_DOT_LOOKALIKES = frozenset("\u0660\u06f0\u0701\u0702\ua4f8\ua60e\U00010a50\U0001d16d")


def normalise_vault_path(raw: str, allowed_extensions: Sequence[str]) -> str:
    """Return `raw` as a canonical vault path (NFC, relative, `/`-separated) or raise InvalidPath/UnsupportedType."""
    for problem in _problems(raw):
        raise InvalidPath(problem)
    path = unicodedata.normalize("NFC", raw)
    extension = splitext(path.rsplit("/", 1)[-1])[1].lower()
    if extension not in {ext.lower() for ext in allowed_extensions}:
        shown = extension or "(none)"
        raise UnsupportedType(f"File type {shown} is not allowed; allowed: {', '.join(sorted(allowed_extensions))}")
    return path


def path_problems(path: str) -> list[str]:
    """Everything the name rules have against `path` (empty when it could be stored today).

    For stored paths that predate a rule: `camvault doctor` lists them, and they keep working (reads,
    check-out and check-in of an existing file never re-check its name). The file type is not judged
    here: ALLOWED_EXTENSIONS is policy, not a name that breaks a checkout.
    """
    return list(dict.fromkeys(_problems(path)))


def _problems(raw: str) -> Iterator[str]:
    if not raw:
        yield "Path is empty"
        return
    # Characters are checked before normalising so the message names what the client actually sent.
    unencodable = False
    for char in dict.fromkeys(raw):
        category = unicodedata.category(char)
        if char == "\\":
            yield "Path must use '/' as separator, not '\\'"
        elif category == "Cc":  # NUL, C0, DEL and C1 controls
            yield f"Path contains the control character U+{ord(char):04X}"
        elif category == "Cs":  # a lone surrogate cannot be stored as UTF-8
            yield "Path is not valid Unicode"
            unencodable = True
        elif category in ("Cf", "Zl", "Zp"):
            # Invisible: bidirectional overrides (U+202E shows `\u202egpj.nc` as `cn.jpg`), zero-width
            # characters (two names that look the same, and HFS+ drops some of them), line breaks.
            yield (
                f"Path contains the invisible formatting character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}); names must display as what they are"
            )
        elif char in WINDOWS_RESERVED_CHARACTERS:
            yield f"Path contains {char!r}, which Windows does not allow in file names"
    if unencodable:
        return
    if raw.startswith("/"):
        yield "Path must be relative (no leading '/')"
    if raw.endswith("/"):
        yield "Path must name a file (no trailing '/')"

    path = unicodedata.normalize("NFC", raw)
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        yield f"Path is longer than {MAX_PATH_BYTES} bytes"
    components = path.split("/")
    if raw.startswith("/"):
        components = components[1:]
    if raw.endswith("/"):
        components = components[:-1]
    for component in components:
        yield from _component_problems(component)


def _component_problems(component: str) -> Iterator[str]:
    if component == "":
        yield "Path has an empty component ('//')"
        return
    if component in (".", ".."):
        yield f"Path component '{component}' is not allowed"
        return
    if is_dotgit(component):
        yield (
            f"Path component {component!r} is not allowed: it is '.git' (the repository itself) to Git on "
            "Windows or macOS, and Git refuses to check it out"
        )
    elif is_dotgit(unicodedata.normalize("NFKC", component)):
        yield f"Path component {component!r} is not allowed: it looks like '.git'"
    if _only_dots(component):
        looks_like = "".join("." if c in _DOT_LOOKALIKES else unicodedata.normalize("NFKC", c) for c in component)
        yield f"Path component {component!r} is not allowed: it looks like {looks_like!r}"
    elif any(sep in unicodedata.normalize("NFKC", component) for sep in "/\\"):
        yield f"Path component {component!r} contains a character that looks like a folder separator"
    if component != component.strip():
        yield f"Path component '{component}' has leading or trailing whitespace"
    elif component.endswith("."):
        yield f"Path component {component!r} ends with a dot, which Windows drops (it could not be checked out there)"
    device = _windows_device(component)
    if device:
        yield f"Path component {component!r} is the Windows device name {device}, which cannot be a file there"
    if component.startswith("-"):
        yield f"Path component {component!r} starts with '-', which command-line tools would read as an option"
    if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
        yield f"Path component is longer than {MAX_COMPONENT_BYTES} bytes"


def is_dotgit(component: str) -> bool:
    """True when Git would take this one name for `.git` on NTFS or HFS+ (and so refuse it on checkout)."""
    if _NTFS_DOTGIT.fullmatch(component):
        return True
    visible = "".join(c for c in component if ord(c) not in HFS_IGNORED)
    return visible.isascii() and visible.lower() == ".git"


def _only_dots(component: str) -> bool:
    """Two ONE DOT LEADERs (U+2024) or FULLWIDTH FULL STOPs (U+FF0E): not `..`, but read as it by people
    and by tools that fold Unicode."""
    return not component.isascii() and all(
        c in _DOT_LOOKALIKES or unicodedata.normalize("NFKC", c).strip(".") == "" for c in component
    )


def _windows_device(component: str) -> str | None:
    # Windows ignores what follows the first dot (and trailing spaces before it), and an NTFS stream
    # suffix after ':' (refused anyway): `NUL`, `nul.txt`, `Nul .tar.nc` all open the device.
    stem = re.split(r"[.:]", component, maxsplit=1)[0].rstrip(" ")
    upper = stem.upper()
    return upper if upper in WINDOWS_DEVICE_NAMES else None


def normalise_folder(raw: str) -> str:
    """A folder as given to a listing (`jobs/1042`, `/jobs/1042/`, `""`): NFC, no outer slashes.

    Only used to look folders up, never to write one, so it need not pass every path rule; a name that could
    never be stored simply matches nothing.
    """
    return unicodedata.normalize("NFC", raw.strip("/"))


def folder_of(path: str) -> str:
    """The folder part of a vault path: `jobs/2026` for `jobs/2026/a.nc`, `""` for `a.nc`."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def join_folder(folder: str, name: str) -> str:
    """Join a folder (`""`, `jobs/2026` or `jobs/2026/`) and a file name; pass the result to normalise_vault_path.

    The name may itself be a relative path (`fixtures/vise.step`): browsers send one for every file of a
    dropped folder. normalise_vault_path then checks the whole result, so `..` cannot climb out.
    """
    folder = folder[:-1] if folder.endswith("/") else folder
    return f"{folder}/{name}" if folder else name


def path_key(path: str) -> str:
    """Case-insensitive identity of a path: the catalog refuses a second file whose key is already taken.

    Casefolding can leave text un-composed (and NFC can change what folds), so normalise on both sides.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())
