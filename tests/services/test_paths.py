from __future__ import annotations

import os
import subprocess
import unicodedata
from pathlib import Path

import pytest

from app.core.errors import InvalidPath, UnsupportedType
from app.services.paths import folder_of, join_folder, normalise_vault_path, path_key, path_problems
from tests.hostile_names import ACCEPTED, GIT_REFUSES, REFUSED

ALLOWED = [".nc", ".mcam", ".txt", ".pdf", ".step"]


@pytest.mark.parametrize(
    "raw",
    [
        "a.nc",
        "jobs/2026/part-17.nc",
        "Kunden/Müller GmbH/Welle Ø20.mcam",
        "治具/夹具 1.step",
        "a b/c d.TXT",  # extensions compare case-insensitively
        "mid-dash-.nc",
        "(glob)x.nc",
        "Welle \uff1a 20.nc",  # a fullwidth colon: the usual Windows-safe stand-in for ':'
        "1\u20442 inch/vise.step",  # FRACTION SLASH is not a separator to anyone
        "...x/a.nc",  # dots that lead a name are fine everywhere
        "git~1x/a.nc",
        "gitk~1/a.nc",
        ".git-backup/a.nc",
        ".gitignore.txt",
        "console.nc",
        "nullable.nc",
        "COM10.nc",
        "LPT\u2074.nc",  # only the superscripts 1-3 are digits to Windows
        "\u0444\u0430\u0439\u043b.nc",
        ".hidden/x.nc",
        "a.b.c.nc",
        ".gitignore/x.nc",  # only .git and what Git reads as .git are reserved
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
        ("a.", "ends with a dot"),
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


@pytest.mark.parametrize("raw", ["a.exe", "a", "nc", "a.nc.bak", "dir.nc/readme", ".nc"])
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


@pytest.mark.parametrize(("raw", "reason"), REFUSED.items(), ids=[ascii(n) for n in REFUSED])
def test_hostile_names_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPath) as info:
        normalise_vault_path(raw, ALLOWED)
    assert reason in str(info.value.detail)
    assert info.value.status_code == 400
    # A stored path with the same name is reported, with the same reason among its problems.
    assert any(reason in problem for problem in path_problems(raw))


@pytest.mark.parametrize("raw", ACCEPTED, ids=ascii)
def test_odd_but_harmless_names_are_accepted(raw: str) -> None:
    assert normalise_vault_path(raw, ALLOWED) == raw
    assert path_problems(raw) == []


def test_path_problems_lists_every_problem_and_ignores_the_file_type() -> None:
    problems = path_problems("aux/.git./-x.exe")
    assert len(problems) == 4, problems
    assert ["device name AUX" in p for p in problems].count(True) == 1
    assert any("'.git'" in p for p in problems)
    assert any("ends with a dot" in p for p in problems)
    assert any("starts with '-'" in p for p in problems)
    assert path_problems("jobs/op10.nc") == []
    assert path_problems("jobs/program.exe") == []


# ----- the real git binary agrees -----------------------------------------------------------------------------

PROTECTED = ("-c", "core.protectNTFS=true", "-c", "core.protectHFS=true")


def _git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo),
        "GIT_AUTHOR_NAME": "probe",
        "GIT_AUTHOR_EMAIL": "probe@example.com",
        "GIT_COMMITTER_NAME": "probe",
        "GIT_COMMITTER_EMAIL": "probe@example.com",
    }
    result = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"git {args} exited {result.returncode}: {result.stderr.decode(errors='replace')}")
    return result


def _tree(repo: Path, paths: list[str]) -> str:
    """A tree holding `paths` (each a small blob), built with git's plumbing, which does not judge names."""
    blob = _git(repo, "hash-object", "-w", "--stdin", input=b"G0 X0\n").stdout.decode().strip()
    entries: dict[str, str] = {}
    folders: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition("/")
        if rest:
            folders.setdefault(head, []).append(rest)
        else:
            entries[head] = f"100644 blob {blob}"
    for folder, inner in folders.items():
        entries[folder] = f"040000 tree {_tree(repo, inner)}"
    listing = b"".join(f"{entry}\t{name}".encode() + b"\0" for name, entry in entries.items())
    return _git(repo, "mktree", "-z", input=listing).stdout.decode().strip()


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "scratch.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repo)], check=True)
    return repo


@pytest.mark.parametrize("name", GIT_REFUSES, ids=ascii)
def test_git_itself_refuses_each_name_we_refuse_as_dotgit(scratch_repo: Path, name: str) -> None:
    tree = _tree(scratch_repo, [name])
    commit = _git(scratch_repo, "commit-tree", tree, "-m", "hostile", input=b"").stdout.decode().strip()
    _git(scratch_repo, "update-ref", "refs/heads/main", commit)
    # read-tree is the first step of every checkout: it refuses the path before anything is written.
    checkout = _git(scratch_repo, *PROTECTED, "read-tree", tree, check=False)
    assert checkout.returncode != 0 and b"invalid path" in checkout.stderr, (name, checkout.stderr)
    fsck = _git(scratch_repo, "fsck", "--strict", "--no-dangling", check=False)
    assert fsck.returncode != 0 and b"hasDotgit" in fsck.stdout + fsck.stderr, (name, fsck.stderr)
    assert path_problems(name)


def _dotgit_family() -> list[str]:
    """Spellings around `.git`: case, NTFS's dropped trailing dots and spaces, 8.3 short names, HFS+-ignored code
    points before, inside and after, and near misses that are other names."""
    cores = [
        ".git",
        ".GIT",
        ".Git",
        "git~1",
        "GIT~1",
        "git~2",
        "git~9",
        "git~10",
        "git~0",
        ".gi",
        "git",
        ".gitx",
        "..git",
    ]
    suffixes = ["", ".", " ", ". .", "..", " x", "~", "\u200c", "\ufeff", "\u200b", "\u00ad", ":x"]
    names = [core + suffix for core in cores for suffix in suffixes]
    names += [f"{c}.git" for c in ("\u200c", "\u200e", "\u202e", "\u206a", "\ufeff", "\u200b")]
    names += [f".g{c}it" for c in ("\u200d", "\u200f", "\u202a", "\u206f", "\u2060")]
    return names


def test_every_name_git_refuses_on_checkout_is_refused_here(scratch_repo: Path) -> None:
    """Git (with both protections on) is the judge: whatever it refuses to check out, the vault refuses to store."""
    git_refused = []
    for name in _dotgit_family():
        tree = _tree(scratch_repo, [f"{name}/x.nc"])
        checkout = _git(scratch_repo, *PROTECTED, "read-tree", tree, check=False)
        if checkout.returncode != 0:
            assert b"invalid path" in checkout.stderr, checkout.stderr
            git_refused.append(name)
            assert path_problems(f"{name}/x.nc"), f"git refuses {name!r} but the vault would store it"
    assert len(git_refused) > 30, git_refused  # the family really was exercised


def test_git_checks_out_every_accepted_name_and_fsck_is_clean(scratch_repo: Path, tmp_path: Path) -> None:
    tree = _tree(scratch_repo, ACCEPTED)
    commit = _git(scratch_repo, "commit-tree", tree, "-m", "odd names", input=b"").stdout.decode().strip()
    _git(scratch_repo, "update-ref", "refs/heads/main", commit)
    _git(scratch_repo, "fsck", "--strict", "--no-dangling")
    work = tmp_path / "work"
    clone = subprocess.run(
        ["git", *PROTECTED, "-c", "transfer.fsckObjects=true", "clone", "--quiet", str(scratch_repo), str(work)],
        capture_output=True,
    )
    assert clone.returncode == 0, clone.stderr
    for name in ACCEPTED:
        assert (work / name).read_bytes() == b"G0 X0\n", name
