"""Uploading in the browser: several files as one request (one commit), a progress bar each, a clear error
for each refusal (the server names the refused file; the others go up without it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OpenSession, Stack, row

LIMIT = 3 * 1024 * 1024


def record_progress(page: Page) -> None:
    """Keep every value the upload progress bars take (the bars reflect `value` as an attribute)."""
    page.evaluate(
        """() => {
          window.__progress = [];
          new MutationObserver((records) => {
            for (const r of records) {
              const bar = r.target;
              window.__progress.push({name: bar.closest('li').dataset.name, value: bar.value, max: bar.max});
            }
          }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['value']});
        }"""
    )


def slow_uploads(page: Page, bytes_per_second: int) -> None:
    """Throttle the page's uploads, so a progress bar has time to move on a loopback connection."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


@pytest.mark.parametrize("stack", [{"max_upload_bytes": LIMIT}], indirect=True)
def test_multi_file_upload_into_a_folder_with_progress_and_per_file_errors(
    stack: Stack, open_session: OpenSession
) -> None:
    stack.upload("jobs/1042/op10.nc", b"G0 X0\n")
    page = open_session(stack.a, "alice").page
    page.get_by_role("link", name="jobs", exact=True).click()
    page.get_by_role("link", name="1042", exact=True).click()
    expect(row(page, "jobs/1042/op10.nc")).to_be_visible()
    record_progress(page)
    slow_uploads(page, 2 * 1024 * 1024)

    big = bytes(range(256)) * (LIMIT // 256 - 4096)  # about 2 MiB: a second or so at the throttled speed
    page.locator("#upload-input").set_input_files(
        [
            {"name": "fixture.mcam", "mimeType": "application/octet-stream", "buffer": big},
            {"name": "op20.nc", "mimeType": "text/plain", "buffer": b"G0 X1\n"},
            {"name": "huge.step", "mimeType": "application/octet-stream", "buffer": b"x" * (LIMIT + 1)},
            {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"},
            {"name": "op10.nc", "mimeType": "text/plain", "buffer": b"G0 X2\n"},
        ]
    )
    items = page.locator(".upload-item")
    expect(items.filter(has_text="fixture.mcam").locator(".upload-state")).to_have_text("version 1", timeout=15_000)
    expect(items.filter(has_text="op20.nc").locator(".upload-state")).to_have_text("version 1")
    expect(items.filter(has_text="huge.step").locator(".upload-state")).to_contain_text("Too large", timeout=15_000)
    expect(items.filter(has_text="setup.exe").locator(".upload-state")).to_contain_text("Wrong type")
    expect(items.filter(has_text="op10.nc").locator(".upload-state")).to_contain_text("Already exists")

    # The big file's bar moved through values between empty and full, and ended full.
    steps = [p for p in page.evaluate("window.__progress") if p["name"] == "fixture.mcam"]
    assert any(0 < p["value"] < p["max"] for p in steps), steps
    bar = items.filter(has_text="fixture.mcam").locator("progress")
    assert bar.evaluate("b => b.value === b.max && b.max >= 2 * 1024 * 1024")

    # The new files are in the list of this folder, without a reload; the refused ones are nowhere.
    expect(row(page, "jobs/1042/fixture.mcam")).to_be_visible()
    expect(row(page, "jobs/1042/op20.nc")).to_be_visible()
    listed = stack.api("alice").get("/api/files", params={"folder": "jobs/1042"}).json()
    assert sorted(f["path"] for f in listed["items"]) == [
        "jobs/1042/fixture.mcam",
        "jobs/1042/op10.nc",
        "jobs/1042/op20.nc",
    ]
    content = stack.api("alice").get(f"/api/files/{listed['items'][0]['id']}/content").content
    assert content == big
    # The accepted files of the pick went up together: one commit made both.
    new = [f for f in listed["items"] if f["path"] != "jobs/1042/op10.nc"]
    assert len({f["head_commit"] for f in new}) == 1


def test_dropping_files_on_the_page_uploads_them(stack: Stack, open_session: OpenSession) -> None:
    page = open_session(stack.b, "bob").page
    expect(page.get_by_text("No files in this folder.")).to_be_visible()
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          data.items.add(new File(['G0 X9\\n'], 'dropped.nc', {type: 'text/plain'}));
          data.items.add(new File(['M30\\n'], 'also-dropped.tap', {type: 'text/plain'}));
          const target = document.querySelector('main');
          target.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
          target.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        }"""
    )
    expect(row(page, "dropped.nc")).to_be_visible()
    expect(row(page, "also-dropped.tap")).to_be_visible()
    expect(page.locator("#files-summary")).to_have_text("Showing 2 of 2 files in this folder.")
