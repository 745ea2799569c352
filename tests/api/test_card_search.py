"""The listing's card filters, card sort and the search box, against a brute-force oracle on a seeded vault.

The oracle computes every file's effective values from what the test itself set (own values, folder cards,
the nearest folder winning) and filters, searches and sorts in Python; the API must agree on every
combination, through every page of a small page size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.models import Role
from tests.conftest import Login, MakeUser
from tests.vault import upload

Headers = dict[str, str]
FOLDERS = ["jobs/acme", "jobs/acme/sub", "jobs/beta", "misc"]
WORDS = ["flange", "bracket", "shaft", "cover", "plate"]
CHOICES = ["dmu", "mazak", "haas"]


@dataclass
class Seeded:
    paths: dict[int, str] = field(default_factory=dict)
    own: dict[int, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def effective(self, file_id: int) -> dict[str, Any]:
        path = self.paths[file_id].lower()
        values: dict[str, Any] = {}
        for folder in sorted(self.folders, key=len):  # nearer folders (longer keys) later: they win
            if path.startswith(folder.lower() + "/"):
                values |= self.folders[folder]
        return values | self.own.get(file_id, {})


def typed(kind: str, value: Any) -> Any:
    if kind == "number":
        return Decimal(str(value))
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "bool":
        return value
    return str(value).lower()


def matches(seeded: Seeded, file_id: int, spec: str) -> bool:
    key, op, raw = [*spec.split(":", 2), ""][:3]
    kind = seeded.types[key]
    value = seeded.effective(file_id).get(key)
    if op == "empty":
        return value is None
    if op == "set":
        return value is not None
    if value is None:
        return False
    if op == "has":
        return raw.lower() in str(value).lower()
    mine = typed(kind, value)
    if op == "in":
        return mine in {typed(kind, part) for part in raw.split("|")}
    wanted = typed(kind, raw if kind != "bool" else raw == "true")
    return {"eq": mine == wanted, "gte": mine >= wanted, "lte": mine <= wanted}[op]


def searched(seeded: Seeded, file_id: int, q: str) -> bool:
    texts = [seeded.paths[file_id]] + [shown(v) for v in seeded.effective(file_id).values()]
    return any(q.lower() in t.lower() for t in texts)


def shown(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@pytest.fixture
async def seeded(client: httpx.AsyncClient, make_user: MakeUser, login: Login) -> tuple[Seeded, Headers]:
    await make_user("boss", Role.admin)
    boss = await login("boss")
    for key, kind, extra in (
        ("qty", "number", {}),
        ("due", "date", {}),
        ("done", "bool", {}),
    ):
        r = await client.post("/api/cards/fields", json={"key": key, "label": key, "type": kind, **extra}, headers=boss)
        assert r.status_code == 201
    r = await client.patch("/api/cards/fields/machine", json={"choices": CHOICES}, headers=boss)
    assert r.status_code == 200
    seeded = Seeded(
        types={
            "part_number": "text",
            "customer": "text",
            "machine": "choice",
            "description": "text",
            "qty": "number",
            "due": "date",
            "done": "bool",
            "material": "text",
        }
    )
    rng = random.Random(22)
    for folder in FOLDERS:
        names = {f"p{rng.randrange(1000):03d}-{i}.nc": f"G0 X{i}\n".encode() for i in range(12)}
        r = await upload(client, boss, names, folder=folder)
        assert r.status_code == 201, r.text
        for f in r.json()["files"]:
            seeded.paths[f["id"]] = f["path"]
    for file_id in seeded.paths:
        values: dict[str, Any] = {}
        if rng.random() < 0.8:
            values["part_number"] = f"PN-{rng.randrange(30):02d}"
        if rng.random() < 0.3:
            values["customer"] = rng.choice(["acme", "beta", "gamma"])
        if rng.random() < 0.6:
            values["machine"] = rng.choice(CHOICES)
        if rng.random() < 0.6:
            values["description"] = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
        if rng.random() < 0.7:
            values["qty"] = rng.choice([1, 2, 5, 10, 12.5, 40, 100])
        if rng.random() < 0.5:
            values["due"] = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}"
        if rng.random() < 0.5:
            values["done"] = rng.random() < 0.5
        if values:
            r = await client.patch(f"/api/files/{file_id}/card", json={"values": values}, headers=boss)
            assert r.status_code == 200, r.text
            seeded.own[file_id] = values
    for folder, values in (
        ("jobs/acme", {"customer": "acme", "material": "alu"}),
        ("jobs/acme/sub", {"material": "steel", "qty": 7}),
        ("jobs", {"material": "brass"}),
    ):
        r = await client.patch("/api/folders/card", params={"path": folder}, json={"values": values}, headers=boss)
        assert r.status_code == 200, r.text
        seeded.folders[folder] = values
    return seeded, boss


async def listed(client: httpx.AsyncClient, who: Headers, params: dict[str, Any]) -> list[int]:
    """Every page of the listing, following the cursors; the count (`count=true`) agrees with the pages."""
    ids: list[int] = []
    cursor = None
    total = None
    while True:
        r = await client.get(
            "/api/files",
            params={**params, "limit": 7, "count": "true", **({"cursor": cursor} if cursor else {})},
            headers=who,
        )
        assert r.status_code == 200, (params, r.text)
        body = r.json()
        total = body["total"]
        ids += [f["id"] for f in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert total == len(ids), params
    return ids


def random_spec(rng: random.Random) -> str:
    key = rng.choice(["part_number", "customer", "machine", "description", "qty", "due", "done", "material"])
    kind = {"qty": "number", "due": "date", "done": "bool", "machine": "choice"}.get(key, "text")
    ops = (
        ["eq", "empty", "set"]
        + (["gte", "lte"] if kind in ("number", "date") else [])
        + (["has", "in"] if kind in ("text", "choice") else [])
    )
    op = rng.choice(ops)
    if op in ("empty", "set"):
        return f"{key}:{op}"
    sample = {
        "part_number": lambda: f"PN-{rng.randrange(30):02d}",
        "customer": lambda: rng.choice(["ACME", "beta", "gamma", "zeta"]),
        "machine": lambda: rng.choice(CHOICES),
        "description": lambda: rng.choice(WORDS),
        "material": lambda: rng.choice(["alu", "steel", "brass"]),
        "qty": lambda: str(rng.choice([1, 5, 7, 10, 12.5, 50])),
        "due": lambda: f"2026-{rng.randrange(1, 13):02d}-15",
        "done": lambda: rng.choice(["true", "false"]),
    }[key]
    if op == "has":
        return f"{key}:has:{sample()[1:4]}"
    if op == "in":
        return f"{key}:in:{sample()}|{sample()}"
    return f"{key}:{op}:{sample()}"


async def test_filters_search_and_sort_agree_with_a_brute_force_oracle(
    client: httpx.AsyncClient, seeded: tuple[Seeded, Headers]
) -> None:
    vault, boss = seeded
    rng = random.Random(2222)
    every = sorted(vault.paths)
    for round_ in range(45):
        specs = [random_spec(rng) for _ in range(rng.choice([1, 1, 2, 3]))]
        params: dict[str, Any] = {"card": specs}
        expected = [i for i in every if all(matches(vault, i, s) for s in specs)]
        if round_ % 3 == 0:
            q = rng.choice(["flange", "PN-1", "acme", "sub/", "P0", "mazak", "alu"])
            params["q"] = q
            expected = [i for i in expected if searched(vault, i, q)]
        if round_ % 4 == 0:
            folder = rng.choice(FOLDERS)
            params |= {"folder": folder, "recursive": "true"}
            expected = [i for i in expected if vault.paths[i].lower().startswith(folder + "/")]
        sort_key = rng.choice(["part_number", "qty", "due", "done", "machine"])
        descending = rng.random() < 0.5
        params |= {"sort": f"card.{sort_key}", "order": "desc" if descending else "asc"}
        got = await listed(client, boss, params)

        kind = vault.types[sort_key]

        def position(
            i: int, kind: str = kind, sort_key: str = sort_key, descending: bool = descending
        ) -> tuple[Any, ...]:
            value = vault.effective(i).get(sort_key)
            present = value is not None
            return (
                (not present, typed(kind, value) if present else 0, i)
                if not descending
                else (present, typed(kind, value) if present else 0, i)
            )

        ordered = sorted(expected, key=position, reverse=descending)
        assert got == ordered, (params, [vault.paths[i] for i in got][:5])


async def test_the_search_box_finds_card_text_and_bad_filters_are_refused(
    client: httpx.AsyncClient, seeded: tuple[Seeded, Headers]
) -> None:
    vault, boss = seeded
    some = next(i for i in vault.own if "part_number" in vault.own[i])
    number = vault.own[some]["part_number"]
    got = await listed(client, boss, {"q": number.lower()})
    assert some in got and set(got) == {i for i in vault.paths if searched(vault, i, number)}
    for bad in (
        "nope:eq:1",
        "qty:gte:many",
        "part_number:gte:PN",
        "qty:like:1",
        "part_number:has:",
        "due:eq:31.12.2026",
    ):
        r = await client.get("/api/files", params={"card": bad}, headers=boss)
        assert r.status_code in (400, 422), (bad, r.text)
        assert bad.split(":")[0] in r.text
    assert (await client.get("/api/files", params={"sort": "card.nope"}, headers=boss)).status_code == 400
    assert (
        await client.get("/api/files", params={"sort": "card.qty", "cursor": "bm9wZQ"}, headers=boss)
    ).status_code == 400
