"""A client process that uploads one file slowly: `python -m tests.slow_upload_client URL TOKEN NAME MIB`.

It sends 64 KiB every 50 ms (about 1.3 MiB/s) so a test can kill it, or the worker, mid-upload, and prints
the answer's status when it gets one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

from tests.raw_http import MULTIPART, multipart_file, raw_post

BLOCK = 64 * 1024


def trickle(total: int) -> Iterator[bytes]:
    block = os.urandom(BLOCK)
    for _ in range(total // BLOCK):
        yield block
        time.sleep(0.05)  # the client's pace, not a wait for anything


def main() -> None:
    url, token, name, mib = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    headers = {"Authorization": f"Bearer {token}"} | MULTIPART
    answer = raw_post(url, "/api/files", headers, multipart_file(name, trickle(mib * 1024**2)))
    print(answer.status, answer.body.decode(errors="replace"), flush=True)


if __name__ == "__main__":
    main()
