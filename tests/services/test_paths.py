from __future__ import annotations

import unicodedata

import pytest

from app.core.errors import InvalidPath, UnsupportedType
from app.services.paths import folder_of, join_folder, normalise_vault_path, path_key

ALLOWED = [".nc", ".mcam", ".txt", ".pdf", ".step"]


@pytest.mark.parametrize(
    "raw",
    [
        "a.nc",
        "jobs/2026/part-17.nc",
        "Kunden/Müller GmbH/Welle Ø20.mcam",
        "治具/夹具 1.step",
        "a b/c d.TXT",  # extensions compare case-insensitively
        "-leading-dash.nc",
        ":(glob)x.nc",
        ".hidden/x.nc",
        "a.b.c.nc",
        ".gitignore/x.nc",  # only the exact name .git is reserved
    ],
)
def test_valid_paths_are_returned_unchanged(raw: str) -> None:
    assert normalise_vault_path(raw, ALLOWED) == raw


def test_nfd_input_becomes_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Kunden/Müller/Überwurf.nc")
    assert nfd != "Kunden/Müller/Überwurf.nc"
    result = normalise_vault_path(nfd, ALLOWED)
    assert result == "Kunden/Müller/Überwurf.nc"
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("../x.nc", "'..'"),
        ("a/../../b.nc", "'..'"),
        ("a/./b.nc", "'.'"),
        ("/abs.nc", "relative"),
        ("a/b/", "trailing"),
        ("a//b.nc", "empty component"),
        (".git/config.nc", ".git"),
        ("a/.git/x.nc", ".git"),
        ("a/.GIT/x.nc", ".git"),
        ("a\x00b.nc", "U+0000"),
        ("a\\b.nc", "'\\'"),
        ("a\nb.nc", "U+000A"),
        ("a\tb.nc", "U+0009"),
        ("a\x1fb.nc", "U+001F"),
        ("a\x7fb.nc", "U+007F"),
        ("a\x85b.nc", "U+0085"),
        ("a\x9bb.nc", "U+009B"),
        (" a.nc", "whitespace"),
        ("a/b.nc ", "whitespace"),
        ("dir /b.nc", "whitespace"),
        ("a/\u00a0b.nc", "whitespace"),
        ("a\udcffb.nc", "Unicode"),
    ],
)
def test_invalid_paths_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPath) as info:
        normalise_vault_path(raw, ALLOWED)
    assert reason in str(info.value.detail)
    assert info.value.status_code == 400


def test_component_limit_is_255_utf8_bytes() -> None:
    ok = "a" * 252 + ".nc"
    assert normalise_vault_path(f"dir/{ok}", ALLOWED) == f"dir/{ok}"
    with pytest.raises(InvalidPath, match="255 bytes"):
        normalise_vault_path("a" * 253 + ".nc", ALLOWED)
    # Counted in bytes, not characters: 128 two-byte letters make 256 bytes.
    with pytest.raises(InvalidPath, match="255 bytes"):
        normalise_vault_path("ü" * 128 + "/x.nc", ALLOWED)


def test_path_limit_is_1024_utf8_bytes() -> None:
    exactly = "/".join(["d" * 200] * 5) + "/" + "x" * 16 + ".nc"  # 1005 + 1 + 19 bytes
    assert len(exactly.encode()) == 1024
    assert normalise_vault_path(exactly, ALLOWED) == exactly
    with pytest.raises(InvalidPath, match="1024 bytes"):
        normalise_vault_path("y" + exactly, ALLOWED)


def test_limits_apply_to_the_nfc_form() -> None:
    # 100 decomposed "ü" are 300 bytes as sent but 200 once composed, so the component fits 255 bytes.
    nfd_component = unicodedata.normalize("NFD", "ü" * 100)
    assert len(nfd_component.encode()) == 300
    assert normalise_vault_path(f"{nfd_component}/x.nc", ALLOWED) == "ü" * 100 + "/x.nc"


@pytest.mark.parametrize("raw", ["a.exe", "a", "nc", "a.nc.bak", "dir.nc/readme", ".nc", "a."])
def test_extension_must_be_allowed(raw: str) -> None:
    with pytest.raises(UnsupportedType) as info:
        normalise_vault_path(raw, ALLOWED)
    assert info.value.status_code == 415


def test_path_errors_come_before_type_errors() -> None:
    with pytest.raises(InvalidPath):
        normalise_vault_path("../a.exe", ALLOWED)


def test_folder_of_and_join_folder() -> None:
    assert folder_of("jobs/2026/a.nc") == "jobs/2026"
    assert folder_of("a.nc") == ""
    assert join_folder("jobs/2026", "a.nc") == "jobs/2026/a.nc"
    assert join_folder("jobs/2026/", "a.nc") == "jobs/2026/a.nc"
    assert join_folder("", "a.nc") == "a.nc"
    # A dropped folder's files carry their relative path as the name.
    assert join_folder("jobs", "fixtures/a.nc") == "jobs/fixtures/a.nc"
    # The joined path still has to pass the rules.
    with pytest.raises(InvalidPath):
        normalise_vault_path(join_folder("../up", "a.nc"), ALLOWED)
    with pytest.raises(InvalidPath):
        normalise_vault_path(join_folder("jobs", "../../etc/a.nc"), ALLOWED)


def test_path_key_folds_case_and_normalisation() -> None:
    assert path_key("Jobs/PART.nc") == path_key("jobs/part.NC")
    assert path_key("Straße.nc") == path_key("STRASSE.nc")
    assert path_key(unicodedata.normalize("NFD", "Müller.nc")) == path_key("MÜLLER.nc")
    assert path_key("a/b.nc") != path_key("a/c.nc")
    assert unicodedata.is_normalized("NFC", path_key("Ǆ\u0301.nc"))
