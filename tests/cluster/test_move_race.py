"""Moves racing each other, uploads, check-ins and check-outs through two worker processes: every answer is a
clear one (never a 500 or a deadlock), the catalog equals Git afterwards, and reindex has nothing to add."""

from __future__ import annotations

import asyncio
import random

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.cli import camvault_async
from tests.conftest import Login, MakeUser
from tests.live_server import LiveServer
from tests.services.test_catalog_and_reindex import assert_catalog_matches_git, catalog_snapshot
from tests.vault import check_in, upload

ROUNDS = 4


async def test_moves_racing_writes_on_two_workers_stay_consistent(
    workers: list[LiveServer], make_user: MakeUser, login: Login, db: AsyncSession, settings: Settings
) -> None:
    await make_user("anna", Role.user)
    await make_user("ben", Role.user)
    anna, ben = await login("anna"), await login("ben")
    rng = random.Random(18)
    async with (
        httpx.AsyncClient(base_url=workers[0].url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=workers[1].url, timeout=60) as on_b,
    ):
        r = await upload(on_a, anna, {f"op{i}.nc": f"G0 X{i}\n".encode() for i in range(8)}, folder="cell/a")
        assert r.status_code == 201, r.text
        ids = [f["id"] for f in r.json()["files"]]
        for round_ in range(ROUNDS):
            src, dst = ("cell/a", "cell/b") if round_ % 2 == 0 else ("cell/b", "cell/a")
            moves = [
                on_a.post("/api/folders/move", json={"path": src, "to": dst}, headers=anna),
                on_b.post("/api/folders/move", json={"path": "cell", "to": f"cells-{round_}"}, headers=ben),
                on_b.post("/api/folders/move", json={"path": f"cells-{round_}", "to": "cell"}, headers=ben),
            ]
            for file_id in rng.sample(ids, 6):
                who, via = rng.choice([(anna, on_a), (ben, on_b)])
                moves.append(
                    via.post(f"/api/files/{file_id}/move", json={"path": f"loose/r{round_}-{file_id}.nc"}, headers=who)
                )
                moves.append(via.post(f"/api/files/{file_id}/checkout", json={"message": "race"}, headers=who))
            moves.append(upload(on_a, ben, {f"new{round_}.nc": b"G1\n"}, folder=dst))
            answers = await asyncio.gather(*moves)
            assert all(a.status_code in (200, 201, 400, 404, 409) for a in answers), [
                (a.request.url.path, a.status_code, a.text) for a in answers if a.status_code >= 500
            ]
            for file_id in ids:  # whoever holds a file checks it in (at wherever it is now)
                for who, via in ((anna, on_a), (ben, on_b)):
                    got = (await via.get(f"/api/files/{file_id}", headers=who)).json()
                    lock = got.get("lock")
                    if lock and lock["holder"] == ("anna" if who is anna else "ben"):
                        done = await check_in(via, who, file_id, f"round {round_}\n".encode())
                        assert done.status_code == 200, done.text

    repo = settings.data_dir / "vault.git"
    await assert_catalog_matches_git(db, repo)
    before = await catalog_snapshot(db)
    again = await camvault_async(settings, "reindex")
    assert again.returncode == 0, again.stderr
    assert "0 files added, 0 updated, 0 versions added" in again.stdout
    assert await catalog_snapshot(db) == before
