"""A large NC program shaped like CAM output, for the NC benchmark and the 20 MB browser test.

Raster surfacing in small steps (most lines are `X.. Y..`, some add Z, a few change F), an arc every few hundred
lines, a tool change and a block of drilled holes now and then: the mix the parsers see in real programs, at
about 16 bytes a line, so 20 MB is over a million lines. Deterministic: the same size gives the same bytes.
"""

from __future__ import annotations

import math

HEADER = ["%", "O1234 (BENCH SURFACING)", "G21 G90 G17 G94", "T1 M6 (12MM BALL ENDMILL)", "S10000 M3", "G0 X0. Y0. Z5."]
FOOTER = ["G0 Z50.", "M5", "G28 G91 Z0.", "M30", "%"]
TOOLS = ["T2 M6 (8MM FLAT ENDMILL)", "T3 M6 (6MM DRILL)", "T4 M6 (3MM BALL ENDMILL)"]


def program(size: int) -> bytes:
    """A program of at least `size` bytes (and about that many)."""
    lines = list(HEADER)
    total = sum(len(line) + 1 for line in lines)
    n = 0
    x = y = 0.0
    tool = 0
    while total < size:
        n += 1
        if n % 250_000 == 0:
            lines.append(TOOLS[tool % len(TOOLS)])
            lines.append(f"S{8000 + 1000 * (tool % 5)} M3")
            tool += 1
        if n % 100_000 == 0:
            lines += ["G0 Z5.", "G98 G81 X10. Y10. Z-5. R2. F120.", "X20.", "X30.", "G99 X40.", "G80", "G0 Z5."]
        if n % 500 == 0:  # a half circle of R1.5 to the right and back, then a new feed
            lines.append(f"G2 X{x + 3:.3f} Y{y:.3f} I1.5 J0.")
            lines.append(f"G3 X{x:.3f} Y{y:.3f} R1.5")
            lines.append(f"G1 Z{-2 + math.cos(n / 700):.3f} F{800 + 100 * (n // 5000 % 8)}.")
        x = round(50 * math.sin(n / 400), 3)
        line = f"X{x:.3f} Y{y:.3f}"
        if n % 10 == 0:
            line += f" Z{-2 + math.cos(n / 700):.3f}"
        if n == 1:
            line = "G1 " + line + " F900."
        y += 0.0004
        lines.append(line)
        total += len(line) + 1
    lines += FOOTER
    return ("\n".join(lines) + "\n").encode()
