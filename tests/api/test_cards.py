"""Data cards through the API: fields, values of every type, validation, audit, history, roles, release checks,
upload and check-in with `card.<key>`, folder cards and inheritance, the live event."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.realtime import joined, token_for
from tests.vault import transition, upload, upload_one

Headers = dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"edit_cooldown_seconds": 0})


@pytest.fixture
async def people(make_user: MakeUser, login: Login) -> dict[str, Headers]:
    for name, role in (("anna", Role.user), ("boss", Role.admin), ("olaf", Role.viewer)):
        await make_user(name, role)
    return {name: await login(name) for name in ("anna", "boss", "olaf")}


async def add_field(client: httpx.AsyncClient, admin: Headers, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/cards/fields", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def set_card(client: httpx.AsyncClient, who: Headers, file_id: object, **values: Any) -> httpx.Response:
    return await client.patch(f"/api/files/{file_id}/card", json={"values": values}, headers=who)


def value_of(card: dict[str, Any], key: str) -> dict[str, Any]:
    return next(v for v in card["values"] if v["key"] == key)


async def test_the_migration_makes_the_starting_fields(client: httpx.AsyncClient, people: dict[str, Headers]) -> None:
    r = await client.get("/api/cards/fields", headers=people["olaf"])
    assert r.status_code == 200
    fields = {f["key"]: f for f in r.json()["items"]}
    assert list(fields) == ["part_number", "customer", "machine", "material", "operation", "description"]
    assert fields["machine"]["type"] == "choice" and fields["machine"]["choices"] == []
    assert all(not f["required_for_release"] for f in fields.values())


async def test_only_admins_define_fields_and_every_change_is_audited(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    body = {"key": "qty", "label": "Quantity", "type": "number"}
    assert (await client.post("/api/cards/fields", json=body, headers=people["anna"])).status_code == 403
    assert (await client.post("/api/cards/fields", json=body, headers=people["olaf"])).status_code == 403
    await add_field(client, people["boss"], **body)
    assert (await client.post("/api/cards/fields", json=body, headers=people["boss"])).status_code == 409
    bad = await client.post("/api/cards/fields", json={**body, "key": "Bad Key"}, headers=people["boss"])
    assert bad.status_code == 422

    r = await client.patch(
        "/api/cards/fields/machine", json={"choices": ["DMU 50", "Mazak 1", "DMU 50"]}, headers=people["boss"]
    )
    assert r.status_code == 200 and r.json()["choices"] == ["DMU 50", "Mazak 1"]
    r = await client.patch("/api/cards/fields/machine", json={"choices": ["x"]}, headers=people["anna"])
    assert r.status_code == 403
    r = await client.delete("/api/cards/fields/qty", headers=people["boss"])
    assert r.status_code == 200 and r.json()["removed"]
    listed = (await client.get("/api/cards/fields", headers=people["boss"])).json()["items"]
    assert "qty" not in {f["key"] for f in listed}

    rows = await sql(db, "SELECT action, target, details FROM audit_events WHERE action LIKE 'card.field%' ORDER BY id")
    assert [(a, t) for a, t, _ in rows] == [
        ("card.field_created", "qty"),
        ("card.field_changed", "machine"),
        ("card.field_removed", "qty"),
    ]
    assert rows[1][2]["changes"] == {"choices": {"old": [], "new": ["DMU 50", "Mazak 1"]}}


@pytest.mark.parametrize(
    ("type_", "extra", "good", "shown", "bad"),
    [
        ("text", {}, "  Flange, 2 bores ", "Flange, 2 bores", "a\x07b"),
        ("number", {}, "12.50", "12.5", "twelve"),
        ("number", {}, 3, "3", "1e400"),
        ("date", {}, "2026-12-01", "2026-12-01", "01.12.2026"),
        ("bool", {}, True, "true", "maybe"),
        ("bool", {}, "no", "false", 7),
        ("choice", {"choices": ["DMU 50", "Mazak 1"]}, "dmu 50", "DMU 50", "Haas"),
        ("user", {}, "ANNA", "anna", "nobody"),
    ],
)
async def test_each_type_validates_and_a_bad_value_is_422_naming_the_field(
    client: httpx.AsyncClient,
    people: dict[str, Headers],
    db: AsyncSession,
    type_: str,
    extra: dict[str, Any],
    good: Any,
    shown: str,
    bad: Any,
) -> None:
    await add_field(client, people["boss"], key="f_test", label="Test field", type=type_, **extra)
    part = await upload_one(client, people["anna"], "jobs/op10.nc", b"G0 X0\n")

    r = await set_card(client, people["anna"], part["id"], f_test=good, part_number="P-1")
    assert r.status_code == 200, r.text
    assert value_of(r.json(), "f_test")["value"] == shown and value_of(r.json(), "f_test")["own"]

    r = await set_card(client, people["anna"], part["id"], part_number="P-2", f_test=bad)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["fields"] == ["f_test"] and "Test field" in r.json()["detail"]["message"]
    card = (await client.get(f"/api/files/{part['id']}/card", headers=people["anna"])).json()
    assert value_of(card, "part_number")["value"] == "P-1", "a refused change changes nothing"
    assert value_of(card, "f_test")["value"] == shown


async def test_writers_edit_without_check_out_viewers_read_audit_and_history_keep_old_and_new(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession, settings: Settings
) -> None:
    settings.viewers_see_work = True  # here olaf reads work in progress (the floor's view: the test below)
    part = await upload_one(client, people["anna"], "jobs/op10.nc", b"G0 X0\n")
    assert (await set_card(client, people["olaf"], part["id"], part_number="X")).status_code == 403
    assert (await set_card(client, people["anna"], part["id"], nope="X")).status_code == 400

    r = await set_card(client, people["anna"], part["id"], part_number="4711-A", customer="ACME")
    assert r.status_code == 200, r.text
    r = await set_card(client, people["boss"], part["id"], part_number="4711-B", customer=None)
    assert r.status_code == 200, r.text
    card = (await client.get(f"/api/files/{part['id']}/card", headers=people["olaf"])).json()
    assert value_of(card, "part_number")["value"] == "4711-B"
    assert value_of(card, "customer")["value"] is None

    rows = await sql(
        db, "SELECT actor_name, file_id, target, details FROM audit_events WHERE action = 'card.changed' ORDER BY id"
    )
    assert [(a, f, t) for a, f, t, _ in rows] == [
        ("anna", part["id"], "jobs/op10.nc"),
        ("boss", part["id"], "jobs/op10.nc"),
    ]
    assert rows[0][3]["changes"] == {
        "part_number": {"old": None, "new": "4711-A"},
        "customer": {"old": None, "new": "ACME"},
    }
    assert rows[1][3]["changes"] == {
        "part_number": {"old": "4711-A", "new": "4711-B"},
        "customer": {"old": "ACME", "new": None},
    }

    history = (await client.get(f"/api/files/{part['id']}/card/history", headers=people["olaf"])).json()
    assert [(h["user"], h["via"]) for h in history["items"]] == [("boss", "edit"), ("anna", "edit")]
    assert history["items"][0]["changes"]["part_number"] == {"old": "4711-A", "new": "4711-B"}

    # Nothing changed: no new audit row.
    assert (await set_card(client, people["anna"], part["id"], part_number="4711-B")).status_code == 200
    assert len(await sql(db, "SELECT 1 FROM audit_events WHERE action = 'card.changed'")) == 2


async def test_required_fields_refuse_a_submit_with_422_naming_them(
    client: httpx.AsyncClient, people: dict[str, Headers]
) -> None:
    for key in ("part_number", "operation"):
        r = await client.patch(f"/api/cards/fields/{key}", json={"required_for_release": True}, headers=people["boss"])
        assert r.status_code == 200
    # Only on programs: a PDF needs no operation.
    r = await client.patch("/api/cards/fields/operation", json={"extensions": [".NC"]}, headers=people["boss"])
    assert r.json()["extensions"] == ["nc"]
    part = await upload_one(client, people["anna"], "jobs/op10.nc", b"G0 X0\n")
    sheet = await upload_one(client, people["anna"], "jobs/setup.pdf", b"%PDF-1.4\n")

    r = await transition(client, people["anna"], part["id"], "submit")
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["fields"] == ["part_number", "operation"]
    card = (await client.get(f"/api/files/{part['id']}/card", headers=people["anna"])).json()
    assert card["missing_for_release"] == ["part_number", "operation"]

    r = await transition(client, people["anna"], sheet["id"], "submit")
    assert r.status_code == 422 and r.json()["detail"]["fields"] == ["part_number"]
    r = await set_card(client, people["anna"], sheet["id"], operation="OP10")
    assert r.status_code == 422 and r.json()["detail"]["fields"] == ["operation"]

    assert (await set_card(client, people["anna"], part["id"], part_number="4711", operation="OP10")).status_code == 200
    r = await transition(client, people["anna"], part["id"], "submit")
    assert r.status_code == 200, r.text


async def test_upload_and_check_in_carry_card_values(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    r = await client.post(
        "/api/files",
        files=[("files", ("op10.nc", b"G0\n", "application/octet-stream")), ("files", ("op20.nc", b"G1\n", "x/y"))],
        data={"folder": "jobs/4711", "card.part_number": "4711-A", "card.operation": "OP10"},
        headers=people["anna"],
    )
    assert r.status_code == 201, r.text
    ids = [f["id"] for f in r.json()["files"]]
    for file_id in ids:
        card = (await client.get(f"/api/files/{file_id}/card", headers=people["anna"])).json()
        assert value_of(card, "part_number")["value"] == "4711-A"
    history = (await client.get(f"/api/files/{ids[0]}/card/history", headers=people["anna"])).json()
    assert history["items"][0]["via"] == "upload"

    # A bad value refuses the whole upload: no file, no commit.
    before = await sql(db, "SELECT count(*) FROM files")
    r = await client.post(
        "/api/files",
        files=[("files", ("op30.nc", b"G0\n", "application/octet-stream"))],
        data={"folder": "jobs/4711", "card.machine": "Haas"},
        headers=people["anna"],
    )
    assert r.status_code == 422 and r.json()["detail"]["fields"] == ["machine"]
    assert await sql(db, "SELECT count(*) FROM files") == before

    assert (await client.post(f"/api/files/{ids[1]}/checkout", json={}, headers=people["anna"])).status_code == 200
    r = await client.post(
        f"/api/files/{ids[1]}/checkin",
        data={"message": "OP20 now", "card.operation": "OP20"},
        files=[("file", ("op20.nc", b"G1 X1\n", "application/octet-stream"))],
        headers=people["anna"],
    )
    assert r.status_code == 200, r.text
    card = (await client.get(f"/api/files/{ids[1]}/card", headers=people["anna"])).json()
    assert value_of(card, "operation")["value"] == "OP20"
    history = (await client.get(f"/api/files/{ids[1]}/card/history", headers=people["anna"])).json()
    assert history["items"][0]["via"] == "checkin"
    assert history["items"][0]["changes"] == {"operation": {"old": "OP10", "new": "OP20"}}

    # A bad value in a check-in: still checked out, no new version.
    assert (await client.post(f"/api/files/{ids[0]}/checkout", json={}, headers=people["anna"])).status_code == 200
    r = await client.post(
        f"/api/files/{ids[0]}/checkin",
        data={"card.nope": "x"},
        files=[("file", ("op10.nc", b"G1 X2\n", "application/octet-stream"))],
        headers=people["anna"],
    )
    assert r.status_code == 400, r.text
    meta = (await client.get(f"/api/files/{ids[0]}", headers=people["anna"])).json()
    assert meta["version"] == 1 and meta["lock"]["holder"] == "anna"


async def test_folder_cards_are_inherited_the_file_value_wins_and_the_source_is_named(
    client: httpx.AsyncClient, people: dict[str, Headers]
) -> None:
    r = await upload(
        client, people["anna"], {"a.nc": b"1", "sub/b.nc": b"2", "sub/c.nc": b"3"}, folder="customers/ACME"
    )
    assert r.status_code == 201, r.text
    a, b, c = (f["id"] for f in r.json()["files"])
    other = await upload_one(client, people["anna"], "customers/Other/d.nc", b"4")

    r = await client.patch(
        "/api/folders/card",
        params={"path": "customers/ACME"},
        json={"values": {"customer": "ACME", "material": "Alu"}},
        headers=people["anna"],
    )
    assert r.status_code == 200, r.text
    assert value_of(r.json(), "customer")["own"] and value_of(r.json(), "customer")["value"] == "ACME"
    await set_card(client, people["anna"], c, customer="ACME Europe")
    r = await client.patch(
        "/api/folders/card",
        params={"path": "customers/acme/SUB"},
        json={"values": {"material": "Steel"}},
        headers=people["anna"],
    )
    assert r.status_code == 200, r.text
    assert value_of(r.json(), "customer")["inherited_from"] == "customers/ACME"

    async def card(file_id: object) -> dict[str, tuple[str | None, bool, str | None]]:
        body = (await client.get(f"/api/files/{file_id}/card", headers=people["anna"])).json()
        return {v["key"]: (v["value"], v["own"], v["inherited_from"]) for v in body["values"]}

    assert (await card(a))["customer"] == ("ACME", False, "customers/ACME")
    assert (await card(a))["material"] == ("Alu", False, "customers/ACME")
    assert (await card(b))["material"] == ("Steel", False, "customers/acme/SUB")
    assert (await card(c))["customer"] == ("ACME Europe", True, None)
    assert (await card(other["id"]))["customer"] == (None, False, None)

    # New files get the folder's values; clearing the nearer folder shows the farther one again.
    new = await upload_one(client, people["anna"], "customers/ACME/sub/e.nc", b"5")
    assert (await card(new["id"]))["material"] == ("Steel", False, "customers/acme/SUB")
    r = await client.patch(
        "/api/folders/card",
        params={"path": "customers/ACME/sub"},
        json={"values": {"material": None}},
        headers=people["anna"],
    )
    assert r.status_code == 200
    assert (await card(b))["material"] == ("Alu", False, "customers/ACME")
    # Clearing a file's own value shows the folder's.
    await set_card(client, people["anna"], c, customer="")
    assert (await card(c))["customer"] == ("ACME", False, "customers/ACME")

    # A file moved out inherits from its new folders; a folder moved keeps its card.
    r = await client.post(f"/api/files/{a}/move", json={"path": "customers/Other/a.nc"}, headers=people["anna"])
    assert r.status_code == 200, r.text
    assert (await card(a))["customer"] == (None, False, None)
    r = await client.post(
        "/api/folders/move", json={"path": "customers/ACME", "to": "archive/ACME"}, headers=people["anna"]
    )
    assert r.status_code == 200, r.text
    assert (await card(b))["customer"] == ("ACME", False, "archive/ACME")
    folder = (await client.get("/api/folders/card", params={"path": "archive/ACME"}, headers=people["olaf"])).json()
    assert value_of(folder, "customer")["value"] == "ACME" and value_of(folder, "customer")["own"]

    assert (
        await client.patch(
            "/api/folders/card",
            params={"path": "archive/ACME"},
            json={"values": {"customer": "X"}},
            headers=people["olaf"],
        )
    ).status_code == 403
    r = await client.patch(
        "/api/folders/card", params={"path": "no/such"}, json={"values": {"customer": "X"}}, headers=people["anna"]
    )
    assert r.status_code == 404


async def test_a_card_change_is_a_live_event_naming_the_fields(
    client: httpx.AsyncClient, people: dict[str, Headers], workers: list[Any]
) -> None:
    part = await upload_one(client, people["anna"], "jobs/op10.nc", b"G0\n")
    token = await token_for(workers[1], "olaf")
    async with joined(workers[1], token) as ws:
        async with httpx.AsyncClient(base_url=workers[0].url, timeout=30) as http:
            r = await http.patch(
                f"/api/files/{part['id']}/card", json={"values": {"part_number": "4711"}}, headers=people["anna"]
            )
            assert r.status_code == 200, r.text
        event = await ws.expect("card_changed", file_id=part["id"])
        assert event["fields"] == ["part_number"] and event["user"] == "anna" and event["via"] == "edit"
        assert "changes" not in event, "values travel in the audit log, not to every socket"


async def test_a_new_label_keeps_values_a_removed_field_keeps_its_history_and_the_floor_reads_released_cards(
    client: httpx.AsyncClient, people: dict[str, Headers], db: AsyncSession
) -> None:
    part = await upload_one(client, people["anna"], "jobs/op10.nc", b"G0 X0\n")
    assert (await set_card(client, people["anna"], part["id"], material="1.2379", customer="ACME")).status_code == 200
    r = await client.patch("/api/cards/fields/material", json={"label": "Werkstoff"}, headers=people["boss"])
    assert r.status_code == 200
    card = (await client.get(f"/api/files/{part['id']}/card", headers=people["anna"])).json()
    assert (value_of(card, "material")["label"], value_of(card, "material")["value"]) == ("Werkstoff", "1.2379")

    assert (await client.delete("/api/cards/fields/material", headers=people["boss"])).status_code == 200
    card = (await client.get(f"/api/files/{part['id']}/card", headers=people["anna"])).json()
    assert "material" not in {v["key"] for v in card["values"]}
    assert (await set_card(client, people["anna"], part["id"], material="x")).status_code == 400
    history = (await client.get(f"/api/files/{part['id']}/card/history", headers=people["anna"])).json()
    assert history["items"][0]["changes"]["material"] == {"old": None, "new": "1.2379"}
    assert await sql(
        db, "SELECT count(*) FROM card_values v JOIN card_fields f ON f.id = v.field_id WHERE f.key = 'material'"
    ) == [(1,)]
    r = await client.post(
        "/api/cards/fields", json={"key": "material", "label": "M", "type": "text"}, headers=people["boss"]
    )
    assert r.status_code == 409 and "removed" in r.json()["detail"]

    # The shop floor reads the cards of released files only.
    assert (await client.get(f"/api/files/{part['id']}/card", headers=people["olaf"])).status_code == 404
    await client.patch("/api/cards/fields/operation", json={"label": "Op"}, headers=people["boss"])
    assert (await transition(client, people["anna"], part["id"], "submit")).status_code == 200
    assert (await transition(client, people["boss"], part["id"], "approve", "ok")).status_code == 200
    card = (await client.get(f"/api/files/{part['id']}/card", headers=people["olaf"])).json()
    assert value_of(card, "customer")["value"] == "ACME"

    r = await client.patch(
        "/api/folders/card",
        params={"path": "jobs"},
        json={"values": {"customer": "Beta", "machine": None}},
        headers=people["anna"],
    )
    assert r.status_code == 200
    rows = await sql(db, "SELECT actor_name, target, details FROM audit_events WHERE action = 'card.folder_changed'")
    assert rows == [
        (
            "anna",
            "jobs",
            {
                "folder": "jobs",
                "folder_key": "jobs",
                "fields": ["customer"],
                "changes": {"customer": {"old": None, "new": "Beta"}},
                "files": 0,
                "via": "edit",
            },
        )
    ]
