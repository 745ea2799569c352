"""Read-only Git over HTTP: who may fetch, and what a push is told."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from app.storage.git_http import FLUSH, UploadPack, pkt_line
from app.storage.git_store import GitStore

PUSH_REFUSED = (
    "camvault does not accept git push: the vault is read-only over Git. "
    "Check files in through camvault (the web UI or the API) instead."
)


class GitHttpService:
    def __init__(self, store: GitStore) -> None:
        self.upload_pack = UploadPack(store.repo.runner, store.path, store.ref)

    def advertisement(self) -> AsyncGenerator[bytes, None]:
        return self.upload_pack.advertisement()

    def fetch(self, body: AsyncIterator[bytes], *, gzipped: bool) -> AsyncGenerator[bytes, None]:
        return self.upload_pack.serve(body, gzipped=gzipped)

    @staticmethod
    def push_refused(*, advertisement: bool) -> bytes:
        """An `ERR` packet: git stops and prints "remote error: <message>" instead of a bare HTTP status."""
        error = pkt_line(f"ERR {PUSH_REFUSED}\n")
        return pkt_line("# service=git-receive-pack\n") + FLUSH + error if advertisement else error
