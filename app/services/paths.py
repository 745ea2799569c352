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


def normalise_vault_path(raw: str, allowed_extensions: Sequence[str] | None) -> str:
    """Return `raw` as a canonical vault path (NFC, relative, `/`-separated) or raise InvalidPath/UnsupportedType.

    `allowed_extensions=None` checks a folder's path: the same rules for every name, no extension rule
    (normalise_folder_path).
    """
    for problem in _problems(raw):
        raise InvalidPath(problem)
    path = unicodedata.normalize("NFC", raw)
    if allowed_extensions is not None:
        check_extension(path, allowed_extensions)
    return path


def check_extension(name: str, allowed_extensions: Sequence[str]) -> None:
    """UnsupportedType (415) unless the name's extension is in the allow-list (uploads and check-ins alike)."""
    extension = extension_of(name)
    if extension not in {ext.lower() for ext in allowed_extensions}:
        shown = extension or "(none)"
        raise UnsupportedType(f"File type {shown} is not allowed; allowed: {', '.join(sorted(allowed_extensions))}")


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


def normalise_folder_path(raw: str) -> str:
    """A folder a user names (a new folder, a folder move's target): every rule of a file's path but the extension."""
    return normalise_vault_path(raw.strip("/"), None)


def extension_of(path: str) -> str:
    """`.nc` for `jobs/OP10.NC` (lower-cased: extensions compare case-insensitively); "" without one."""
    return splitext(path.rsplit("/", 1)[-1])[1].lower()


def moved_path(path: str, old_folder: str, new_folder: str) -> str:
    """Where `path`, inside `old_folder` (at any depth, any case), lands when that folder becomes `new_folder`.

    Components are replaced by count, not by text: `Jobs/a.nc` is inside `jobs`, and casefolding can change
    a name's length but never its number of '/'.
    """
    depth = old_folder.count("/") + 1
    rest = path.split("/")[depth:]
    return "/".join([new_folder, *rest]) if new_folder else "/".join(rest)


def is_inside(key: str, folder_key: str) -> bool:
    """True when the path key `key` is `folder_key` itself or anything below it."""
    return key == folder_key or key.startswith(folder_key + "/")


def folders_above(key: str) -> list[str]:
    """The keys of every folder above a path key (or a folder's key), top first: `a`, `a/b` for `a/b/c.nc`."""
    parts = key.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def versioned_name(path: str, version: int) -> str:
    """The download name of a version that is not the latest: `OP10.v1.nc` for version 1 of `jobs/OP10.nc`."""
    name = path.rsplit("/", 1)[-1]
    stem, extension = splitext(name)
    return f"{stem}.v{version}{extension}" if stem else f"{name}.v{version}"


# Natural, case-insensitive name order that the database can page through with a plain index (no ICU, any
# collation): each folder level is compared on its own (the separator sorts before every allowed character)
# and each run of digits compares as a number (`OP2` before `OP10`): the run is written as its length's
# length, its length and its digits, without leading zeros. The key is compared byte by byte (COLLATE "C").
SORT_SEPARATOR = "\x01"  # control characters are never in a name, so it sorts before any of them
SORT_KEY_MAX_BYTES = 1600  # a btree entry must stay under ~2700 bytes; longer keys are cut (order kept by id)
_DIGITS = re.compile(r"[0-9]+")


def _number(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    length = str(len(digits))
    return f"{len(length)}{length}{digits}"


def _natural(key: str) -> str:
    return SORT_SEPARATOR.join(_DIGITS.sub(_number, part) for part in key.split("/"))


def name_sort_key(key: str) -> str:
    """The natural sort key of a path key (path_key: NFC + casefold), or of a folder's key."""
    encoded = _natural(key)
    data = encoded.encode("utf-8")
    if len(data) <= SORT_KEY_MAX_BYTES:
        return encoded
    return data[:SORT_KEY_MAX_BYTES].decode("utf-8", "ignore")


def folder_sort_range(folder_key: str) -> tuple[str, str] | None:
    """Bounds of the sort keys of every path inside a folder (None for the top, or a folder too long to say)."""
    if not folder_key:
        return None
    low = _natural(folder_key) + SORT_SEPARATOR
    if len(low.encode("utf-8")) >= SORT_KEY_MAX_BYTES:
        return None  # the files' keys may be cut inside the folder's part
    return low, low[:-1] + chr(ord(SORT_SEPARATOR) + 1)


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
