"""The CSV import of cards has a body limit of its own (MAX_CSV_IMPORT_BYTES), larger than MAX_JSON_BODY_BYTES:
a part list past 1 MiB imports; one past the CSV limit is 413 as it arrives, and nothing changes."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Role
from tests.conftest import Login, MakeUser, sql
from tests.vault import upload

JSON_LIMIT = 1024**2  # the default
CSV_LIMIT = 2 * 1024**2
FILES = 300
CSV_HEADERS = {"Content-Type": "text/csv"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_json_body_bytes": JSON_LIMIT, "max_csv_import_bytes": CSV_LIMIT})


@pytest.fixture
async def anna(make_user: MakeUser, login: Login) -> dict[str, str]:
    await make_user("anna", Role.user)
    return await login("anna")


def part_list(paths: list[str], tag: str) -> str:
    """A CSV of `path` and four long text values a row (each at the 1000-character limit of a text value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["path", "part_number", "customer", "material", "description"])
    for n, path in enumerate(paths):
        writer.writerow([path, *(f"{tag}-{key}-{n}-".ljust(1000, "x") for key in ("p", "c", "m", "d"))])
    return out.getvalue()


async def state(db: AsyncSession) -> list[tuple[object, ...]]:
    return await sql(
        db,
        "SELECT (SELECT count(*) FROM audit_events), (SELECT count(*) FROM card_values), "
        "(SELECT md5(string_agg(value_text, ',' ORDER BY file_id, field_id)) FROM card_values)",
    )


async def test_a_part_list_past_the_json_limit_imports_and_one_past_the_csv_limit_changes_nothing(
    client: httpx.AsyncClient, anna: dict[str, str], db: AsyncSession
) -> None:
    r = await upload(client, anna, {f"p{n:04}.nc": b"G0\n" for n in range(FILES)}, folder="parts")
    assert r.status_code == 201, r.text
    paths = [f["path"] for f in r.json()["files"]]

    body = part_list(paths, "A").encode()
    assert JSON_LIMIT < len(body) < CSV_LIMIT
    r = await client.post("/api/cards/import", content=body, headers={**anna, **CSV_HEADERS})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == FILES and len(r.json()["changed"]) == FILES
    card = (await client.get(f"/api/files/{r.json()['changed'][-1]['file_id']}/card", headers=anna)).json()
    assert {v["key"]: v["value"] for v in card["values"]}["customer"].startswith(f"A-c-{FILES - 1}-")

    # Past the CSV limit: refused from its Content-Length, and when sent without one (chunked) as it arrives.
    before = await state(db)
    big = part_list(paths * 2, "B").encode()
    assert len(big) > CSV_LIMIT
    r = await client.post("/api/cards/import", content=big, headers={**anna, **CSV_HEADERS})
    assert r.status_code == 413, r.text
    assert "MAX_CSV_IMPORT_BYTES" in r.json()["detail"] and str(CSV_LIMIT) in r.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    r = await client.post("/api/cards/import", content=chunks(), headers={**anna, **CSV_HEADERS})
    assert r.status_code == 413, r.text
    assert "MAX_CSV_IMPORT_BYTES" in r.json()["detail"]
    assert await state(db) == before

    # Every other body keeps the JSON limit.
    values = {"description": "x" * 1000}
    r = await client.post(
        "/api/cards/bulk",
        json={"folder": "parts", "values": values, "padding": "y" * JSON_LIMIT},
        headers=anna,
    )
    assert r.status_code == 413 and "MAX_JSON_BODY_BYTES" in r.json()["detail"]
    assert await state(db) == before
