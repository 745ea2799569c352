"""Data cards in the browser, the issue's scenario: an admin gives the `machine` choice field its machines and
adds a field; anna fills a program's card, sets `customer` on its folder (the file shows it inherited), finds
the file by part number from the search box (the URL keeps the search, filter chips and columns), and opens
the part packet, whose zip holds the part's files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, OpenSession, Stack, row


def test_cards_from_field_editor_to_packet(stack: Stack, open_session: OpenSession) -> None:
    boss_api = stack.api("boss")
    r = boss_api.post("/api/admin/users", json={"username": "anna", "password": PASSWORD, "role": "user"})
    assert r.status_code == 201, r.text
    program = stack.upload("customers/ACME/4711/op10.nc", b"G0 X0\nM30\n", username="anna")
    stack.upload("customers/ACME/4711/setup.pdf", b"%PDF-1.4 sheet\n", username="anna")
    stack.upload("customers/Other/op10.nc", b"G0 X9\n", username="anna")

    # The admin: machines for the `machine` choice field, and a new field, in the field editor.
    boss = open_session(stack.a, "boss").page
    boss.get_by_role("link", name="Fields").click()
    boss.get_by_role("button", name="Edit machine").click()
    boss.locator("dialog").get_by_label("Choices (for choice fields), comma-separated").fill("DMU 50, Mazak Integrex")
    boss.locator("dialog").get_by_role("button", name="Save").click()
    expect(boss.locator('tr[data-key="machine"]')).to_contain_text("DMU 50, Mazak Integrex")
    boss.get_by_role("button", name="Add field").click()
    dialog = boss.locator("dialog")
    dialog.get_by_label("Key").fill("fixture")
    dialog.get_by_label("Label").fill("Fixture")
    dialog.get_by_role("button", name="Add field").click()
    expect(boss.locator('tr[data-key="fixture"]')).to_contain_text("Fixture")

    # anna fills the program's card on its page (the other worker).
    anna = open_session(stack.b, "anna").page
    anna.goto(f"{stack.b.url}/#/file/{program['id']}")
    panel = anna.locator("#card-panel")
    panel.get_by_label("Part number").fill("4711-A")
    panel.get_by_label("Operation").fill("OP10")
    panel.get_by_label("Machine").select_option("DMU 50")
    panel.get_by_role("button", name="Save card").click()
    expect(anna.locator(".toast").filter(has_text="Card saved")).to_be_visible()
    panel.locator("summary").filter(has_text="Card history").click()
    expect(panel.locator(".card-history")).to_contain_text("part_number: — → 4711-A")

    # …and the folder's card: customer for everything in customers/ACME.
    anna.goto(f"{stack.b.url}/#/files?folder=customers/ACME")
    anna.get_by_role("button", name="Folder card").click()
    anna.locator("dialog").get_by_label("Customer").fill("ACME")
    anna.locator("dialog").get_by_role("button", name="Save folder card").click()
    expect(anna.locator("dialog")).to_have_count(0)
    anna.goto(f"{stack.b.url}/#/file/{program['id']}")
    customer = anna.locator('#card-panel tr[data-key="customer"]')
    expect(customer.locator(".inherited")).to_have_text("inherited from customers/ACME")
    expect(customer.get_by_label("Customer")).to_have_value("ACME")
    # The file's card history has the folder's change too, marked with the folder, newest first.
    anna.locator("#card-panel summary").filter(has_text="Card history").click()
    latest = anna.locator("#card-panel .card-history li").first
    expect(latest).to_have_class("inherited")
    expect(latest).to_contain_text("anna (edit): folder customers/ACME: customer: — → ACME")
    expect(anna.locator("#card-panel .card-history li").nth(1)).to_contain_text("part_number: — → 4711-A")

    # The search box finds it by part number, from the top of the vault.
    anna.goto(f"{stack.b.url}/#/files")
    anna.get_by_label("Search").fill("4711-a")
    expect(row(anna, "customers/ACME/4711/op10.nc")).to_be_visible()
    expect(anna.locator("#files-summary")).to_have_text("Showing 1 of 1 matches for “4711-a”.")
    expect(anna).to_have_url(f"{stack.b.url}/#/files?q=4711-a")

    # A filter chip and a card column; the URL keeps both, so the search can be bookmarked.
    anna.get_by_label("Search").fill("")
    anna.get_by_label("Card field").select_option("customer")
    anna.get_by_label("Condition").select_option("eq")
    anna.get_by_label("Value").fill("acme")
    anna.get_by_role("button", name="Add filter").click()
    anna.locator("#column-chooser summary").click()
    anna.get_by_label("Part number").check()
    expect(anna.locator("#files-summary")).to_have_text("Showing 2 of 2 files in this folder.")
    expect(row(anna, "customers/ACME/4711/op10.nc").locator('td[data-card="part_number"]')).to_have_text("4711-A")
    bookmark = anna.url
    assert "card=customer%3Aeq%3Aacme" in bookmark and "cols=part_number" in bookmark
    anna.goto(f"{stack.b.url}/#/packet")  # away, then back through the bookmark
    anna.goto(bookmark)
    anna.reload()
    expect(anna.locator("#card-filters .chip")).to_contain_text("Customer is acme")
    expect(anna.locator("#files-summary")).to_have_text("Showing 2 of 2 files in this folder.")

    # The packet: from the file's card, with the part's files grouped, and its zip.
    anna.goto(f"{stack.b.url}/#/file/{program['id']}")
    anna.locator("#open-packet").click()
    expect(anna.locator("h1")).to_have_text("Part packet 4711-A")
    expect(anna.locator('section[data-group="program"] tbody tr')).to_have_count(1)
    expect(anna.locator('section[data-group="program"]')).to_contain_text("OP10")
    expect(anna.locator('section[data-group="program"]')).to_contain_text("Work in progress")
    # the setup sheet inherits nothing of the part number: it is not in the packet until its card says so
    expect(anna.locator('section[data-group="setup_sheet"]')).to_have_count(0)
    with anna.expect_download() as info:
        anna.get_by_role("button", name="Download all 1 as zip").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert archive.namelist() == ["customers/ACME/4711/op10.nc"]
    assert archive.read("customers/ACME/4711/op10.nc") == b"G0 X0\nM30\n"
