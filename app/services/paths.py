"""Vault path rules (DESIGN.md section 6): what a file may be called, and when two names are the same file."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from posixpath import splitext

from app.core.errors import InvalidPath, UnsupportedType

MAX_COMPONENT_BYTES = 255  # what most filesystems allow for one name; clients check files out to disk
MAX_PATH_BYTES = 1024


def normalise_vault_path(raw: str, allowed_extensions: Sequence[str]) -> str:
    """Return `raw` as a canonical vault path (NFC, relative, `/`-separated) or raise InvalidPath/UnsupportedType."""
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

    extension = splitext(path.rsplit("/", 1)[-1])[1].lower()
    if extension not in {ext.lower() for ext in allowed_extensions}:
        shown = extension or "(none)"
        raise UnsupportedType(f"File type {shown} is not allowed; allowed: {', '.join(sorted(allowed_extensions))}")
    return path


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
