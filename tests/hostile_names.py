"""File names from issue 16's adversarial run (and their family): each refused with the reason its 400 names,
and names that look odd but check out everywhere. Shared by the path rules' unit tests and the API test.
"""

from __future__ import annotations

# Names Git itself refuses to check out with core.protectNTFS and core.protectHFS on (git's verify_path):
# the real git binary is asked about each in tests/services/test_paths.py.
GIT_REFUSES: dict[str, str] = {
    ".git./x.nc": "'.git'",
    ".git /x.nc": "'.git'",
    ".git../x.nc": "'.git'",
    ".GIT/x.nc": "'.git'",
    "jobs/.Git/x.nc": "'.git'",
    "git~1/x.nc": "'.git'",
    "GIT~1/y.nc": "'.git'",
    ".git\u200c/x.nc": "U+200C",  # ZERO WIDTH NON-JOINER: HFS+ ignores it
    "\u200d.git/x.nc": "U+200D",
    ".gi\ufefft/x.nc": "U+FEFF",
}

# Names that cannot be checked out or downloaded on Windows (git for Windows refuses them too), and names that
# display as something they are not or that tools would read as something else.
WINDOWS_REFUSES: dict[str, str] = {
    "NUL.nc": "device name NUL",
    "nul.tar.nc": "device name NUL",
    "aux/x.nc": "device name AUX",
    "jobs/Con/x.nc": "device name CON",
    "COM1.nc": "device name COM1",
    "com0.nc": "device name COM0",
    "COM\u00b9.nc": "device name COM\u00b9",
    "LPT1.nc": "device name LPT1",
    "lpt\u00b3.txt": "device name LPT\u00b3",
    "PRN.txt": "device name PRN",
    "conout$.nc": "device name CONOUT$",
    "Aux .nc": "device name AUX",
    "a:b.nc": "':'",
    "a.nc:stream.nc": "':'",
    "a<b>.nc": "'<'",
    'a"b.nc': "'\"'",
    "a|b.nc": "'|'",
    "a?.nc": "'?'",
    "a*.nc": "'*'",
    "a.nc.": "ends with a dot",
    "dir./x.nc": "ends with a dot",
    "dir../x.nc": "ends with a dot",
    "a.nc ": "whitespace",
    "dir /x.nc": "whitespace",
}

LOOKALIKES_REFUSED: dict[str, str] = {
    ".g\u200bit/x.nc": "U+200B",  # ZERO WIDTH SPACE: Git and HFS+ keep it, but nobody sees it
    "\u202egpj.nc": "U+202E",  # RIGHT-TO-LEFT OVERRIDE: displays as `cn.jpg`
    "jobs/\u2066x\u2069.nc": "U+2066",
    "a\u00adb.nc": "U+00AD",  # SOFT HYPHEN
    "a\u2028b.nc": "U+2028",  # LINE SEPARATOR
    "-rf.nc": "starts with '-'",
    "jobs/--help/x.nc": "starts with '-'",
    "\u2024\u2024/x.nc": "looks like '..'",  # ONE DOT LEADER
    "\uff0e\uff0e/x.nc": "looks like '..'",  # FULLWIDTH FULL STOP
    "\u2025/x.nc": "looks like '..'",  # TWO DOT LEADER
    "\ufe52/x.nc": "looks like '.'",  # SMALL FULL STOP
    "\u0701\u0701/x.nc": "looks like '..'",  # SYRIAC SUPRALINEAR FULL STOP
    "\uff0egit/x.nc": "looks like '.git'",
    "a\uff0fb.nc": "folder separator",  # FULLWIDTH SOLIDUS
    "a\uff3cb.nc": "folder separator",
}

REFUSED: dict[str, str] = GIT_REFUSES | WINDOWS_REFUSES | LOOKALIKES_REFUSED

# Odd but harmless everywhere: these are stored, and a real clone checks them out.
ACCEPTED: list[str] = [
    "Kunden/M\u00fcller GmbH/Welle \u00d820.nc",
    "\u6cbb\u5177/\u5939\u5177 1.nc",
    "Welle \uff1a 20.nc",
    "1\u20442 inch/vise.nc",
    "...lead/a.nc",
    ".hidden/x.nc",
    ".gitignore/x.nc",
    ".git-backup/x.nc",
    "git~1x/a.nc",
    "console.nc",
    "nullable.nc",
    "COM10.nc",
    "LPT\u2074.nc",
    "a-b_c (2).nc",
    "a.b.c.nc",
]
