"""Read-only Git over HTTP: who may fetch which branch, and what a push is told.

Everyone but the shop floor fetches `main` (HEAD) and `released`; the floor's view (viewers, unless
VIEWERS_SEE_WORK=true) is advertised `released` alone, without HEAD (HEAD names main): `git clone -b released`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from app.core.config import Settings
from app.models import User
from app.services.visibility import view_of
from app.storage.git_http import FLUSH, UploadPack, pkt_line
from app.storage.git_store import GitStore
from app.vault.released import RELEASED

PUSH_REFUSED = (
    "camvault does not accept git push: the vault is read-only over Git. "
    "Check files in through camvault (the web UI or the API) instead."
)


class GitHttpService:
    def __init__(self, store: GitStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def _upload_pack(self, user: User) -> UploadPack:
        runner, path = self.store.repo.runner, self.store.path
        if view_of(user, self.settings).floor:
            return UploadPack(runner, path, [RELEASED], with_head=False)
        return UploadPack(runner, path, [self.store.ref, RELEASED], with_head=True)

    def advertisement(self, user: User) -> AsyncGenerator[bytes, None]:
        return self._upload_pack(user).advertisement()

    def fetch(self, user: User, body: AsyncIterator[bytes], *, gzipped: bool) -> AsyncGenerator[bytes, None]:
        return self._upload_pack(user).serve(body, gzipped=gzipped)

    @staticmethod
    def push_refused(*, advertisement: bool) -> bytes:
        """An `ERR` packet: git stops and prints "remote error: <message>" instead of a bare HTTP status."""
        error = pkt_line(f"ERR {PUSH_REFUSED}\n")
        return pkt_line("# service=git-receive-pack\n") + FLUSH + error if advertisement else error
