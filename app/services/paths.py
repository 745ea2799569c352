"""Vault path rules (DESIGN.md section 6): what a file may be called, and when two names are the same file."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from posixpath import splitext

from app.core.errors import InvalidPath, UnsupportedType

MAX_COMPONENT_BYTES = 255  # what most filesystems allow for one name; clients check files out to disk
MAX_PATH_BYTES = 1024


def normalise_vault_path(raw: str, allowed_extensions: Sequence[str] | None) -> str:
    """Return `raw` as a canonical vault path (NFC, relative, `/`-separated) or raise InvalidPath/UnsupportedType.

    `allowed_extensions=None` checks a folder's path: the same rules for every name, no extension rule
    (normalise_folder_path).
    """
    if not raw:
        raise InvalidPath("Path is empty")
    # Characters are checked before normalising so the message names what the client actually sent.
    for char in raw:
        if char == "\\":
            raise InvalidPath("Path must use '/' as separator, not '\\'")
        if unicodedata.category(char) == "Cc":  # NUL, C0, DEL and C1 controls
            raise InvalidPath(f"Path contains the control character U+{ord(char):04X}")
        if unicodedata.category(char) == "Cs":  # a lone surrogate cannot be stored as UTF-8
            raise InvalidPath("Path is not valid Unicode")
    if raw.startswith("/"):
        raise InvalidPath("Path must be relative (no leading '/')")
    if raw.endswith("/"):
        raise InvalidPath("Path must name a file (no trailing '/')")

    path = unicodedata.normalize("NFC", raw)
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise InvalidPath(f"Path is longer than {MAX_PATH_BYTES} bytes")
    for component in path.split("/"):
        _check_component(component)
    if allowed_extensions is not None:
        check_extension(path, allowed_extensions)
    return path


def check_extension(name: str, allowed_extensions: Sequence[str]) -> None:
    """UnsupportedType (415) unless the name's extension is in the allow-list (uploads and check-ins alike)."""
    extension = extension_of(name)
    if extension not in {ext.lower() for ext in allowed_extensions}:
        shown = extension or "(none)"
        raise UnsupportedType(f"File type {shown} is not allowed; allowed: {', '.join(sorted(allowed_extensions))}")


def _check_component(component: str) -> None:
    if component == "":
        raise InvalidPath("Path has an empty component ('//')")
    if component in (".", ".."):
        raise InvalidPath(f"Path component '{component}' is not allowed")
    if component.casefold() == ".git":
        # Git refuses such entries, and on a case-insensitive checkout it would be the repository itself.
        raise InvalidPath("Path component '.git' is not allowed")
    if component != component.strip():
        raise InvalidPath(f"Path component '{component}' has leading or trailing whitespace")
    if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
        raise InvalidPath(f"Path component is longer than {MAX_COMPONENT_BYTES} bytes")


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
