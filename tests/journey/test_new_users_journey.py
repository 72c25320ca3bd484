"""One journey a new user would take, through the app as `make run` starts it."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWERS, BUSY, MACHINE = "+15005550006", "+15005550010", "+15005550022"


def dial(page: Page, conference: str, to: str, *, machine_detection: bool = False) -> None:
    page.locator("#id_conference").fill(conference)
    page.locator("#id_to").fill(to)
    page.locator("#id_from").fill("+15005550006")
    if machine_detection:
        page.get_by_role("button", name="Answering machine detection").click()
        page.locator("#id_machine_detection").select_option("Enable")
    page.locator(".dial-submit").click()
    expect(page.get_by_role("status").filter(has_text=f"Dialing {to}")).to_be_visible()
    if machine_detection:  # the next caller starts without it
        page.locator("#id_machine_detection").select_option("")


def recent_row(page: Page, to: str):
    return page.locator("#recent-dials tr").filter(has_text=to)


def test_an_operator_runs_a_conference_and_a_supervisor_reviews_it(
    page: Page, running_app, operator, supervisor, browser_problems, artifacts_dir
):
    conference = f"Journey {uuid.uuid4().hex[:6]}"
    sign_in(page, running_app.url, "olivia")
    page.screenshot(path=artifacts_dir / "01-dial-page.png", full_page=True, caret="initial")

    dial(page, conference, ANSWERS)
    dial(page, conference, BUSY)
    dial(page, conference, MACHINE, machine_detection=True)
    page.screenshot(path=artifacts_dir / "02-dialed.png", full_page=True, caret="initial")

    # The statuses change live, without reloading.
    expect(recent_row(page, ANSWERS)).to_contain_text("In the conference", timeout=30_000)
    expect(recent_row(page, BUSY)).to_contain_text("Busy", timeout=30_000)
    expect(recent_row(page, MACHINE)).to_contain_text(
        "answered by an answering machine (detected at its greeting)", timeout=30_000
    )
    page.screenshot(path=artifacts_dir / "03-live-statuses.png", full_page=True, caret="initial")

    # Mute the caller who answered, from the conference's page.
    page.get_by_role("link", name="Conferences").click()
    page.get_by_role("link", name=conference).first.click()
    page.get_by_role("button", name=f"Mute: {ANSWERS}").click()
    expect(page.get_by_role("button", name=f"Unmute: {ANSWERS}")).to_be_visible(timeout=20_000)
    page.screenshot(path=artifacts_dir / "04-muted.png", full_page=True, caret="initial")
    page.get_by_role("button", name="Sign out").click()

    # A supervisor reviews the conference.
    sign_in(page, running_app.url, "sam")
    page.get_by_role("link", name="History").click()
    page.locator("#f-conference").fill(conference)
    page.get_by_role("button", name="Show calls").click()
    rows = page.locator("#history-results tbody tr")
    expect(rows).to_have_count(3)
    page.screenshot(path=artifacts_dir / "05-history-filtered.png", full_page=True, caret="initial")

    rows.filter(has_text=MACHINE).get_by_role("link").first.click()
    expect(page.get_by_text("machine_start").first).to_be_visible()
    page.screenshot(path=artifacts_dir / "06-machine-timeline.png", full_page=True, caret="initial")
    page.go_back()

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(content)))
    assert len(exported) == 3
    assert {row_value for row in exported for row_value in row.values()} >= {conference}
    print(f"screenshots in {artifacts_dir}")
