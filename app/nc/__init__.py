"""NC programs (G-code): one parser for program facts. Pure: imports nothing from the rest of the app.

`program_facts(data_or_path)` -> `ProgramFacts | None`; `is_nc_path(path, extensions)`. The browser's
parser (`app/static/js/nc/`) follows the same rules; see README, "NC programs", for what is and is not
interpreted. `app/vault/program_facts.py` computes the facts of each new version.
"""

from app.nc.facts import (
    DEFAULT_NC_EXTENSIONS,
    DEFAULT_RAPID_RATE_MM_MIN,
    FACTS_VERSION,
    ProgramFacts,
    is_nc_path,
    program_facts,
)

__all__ = [
    "DEFAULT_NC_EXTENSIONS",
    "DEFAULT_RAPID_RATE_MM_MIN",
    "FACTS_VERSION",
    "ProgramFacts",
    "is_nc_path",
    "program_facts",
]
