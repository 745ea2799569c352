"""CSV lines for exports people open in spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

# A cell starting with one of these is a formula to a spreadsheet (a path such as `=HYPERLINK(…).nc` could run
# one): such cells get a leading apostrophe, as OWASP advises for CSV exports.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_line(cells: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        f"'{cell}" if isinstance(cell, str) and cell.startswith(_FORMULA_START) else cell for cell in cells
    )
    return out.getvalue()
