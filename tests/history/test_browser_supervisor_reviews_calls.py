"""A supervisor's main path in headless Chromium, against real workers and the sandbox:
filter the list, watch a live row change while the sandbox plays the call, open the call,
export CSV and look at the overview."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from conferences.models import DialStatus
from tests.history.helpers import make_dial
from tests.support.dialing import CALLER_ID, dial, refreshed
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("pipeline"),
]

# Sandbox magic number: a person answers and hangs up after 500 call seconds (10 s at 50x).
TALKS_FOR_A_WHILE = "+15005551500"


# Playwright hides the text caret for a screenshot by setting inline styles, and leaves
# style="" behind on inputs; htmx's history snapshot would then restore them as inline
# styles, which the CSP (rightly) blocks. Keep the caret as it is.
def screenshot(page: Page, path) -> None:
    page.screenshot(path=path, full_page=True, caret="initial")


def sign_in(page: Page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_supervisor_filters_watches_a_live_call_opens_it_exports_and_reviews_the_overview(
    page: Page,
    live_server,
    workers,
    sandbox,
    operator,
    supervisor,
    browser_problems,
    artifacts_dir,
):
    refused = make_dial(
        operator,
        conference_name="standup",
        to="+15005550001",
        status=DialStatus.FAILED,
        error_code=21211,
        error_message="The 'To' number +15005550001 is not a valid phone number.",
        failure_reason="Twilio refused the call (21211)",
    )
    workers.start()
    live = dial(operator, TALKS_FOR_A_WHILE, conference="standup", From=CALLER_ID)
    wait_for(lambda: refreshed(live).status == DialStatus.IN_PROGRESS, timeout=20)

    sign_in(page, live_server, supervisor)
    page.goto(f"{live_server.url}/history/")
    row = page.locator(f"#dial-{live.pk}")
    expect(row).to_have_class(re.compile(r"\bis-live\b"))
    expect(row.locator(".status")).to_have_text("In the conference")
    screenshot(page, artifacts_dir / "1-history-list-live.png")

    # The sandbox hangs up; the row changes by itself, in place, and it is announced.
    expect(row.locator(".status")).to_have_text("Completed", timeout=30_000)
    expect(row).not_to_have_class(re.compile(r"\bis-live\b"))
    expect(page.locator("#history-announcer")).to_contain_text("Completed")
    screenshot(page, artifacts_dir / "2-history-list-completed.png")

    # Filter: failed calls only. The table swaps in place and the URL says so.
    page.get_by_label("Failed").check()
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("#history-rows tr")).to_have_count(1)
    expect(page.locator(f"#dial-{refused.pk}")).to_contain_text("21211")
    screenshot(page, artifacts_dir / "3-history-filtered.png")
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"status=failed"))
    expect(page.locator(f"#dial-{live.pk}")).to_be_visible()

    # The call's own page answers "what happened".
    page.locator(f"#dial-{live.pk} a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Call to"))).to_be_visible()
    expect(page.locator(".verdict-text")).to_contain_text("Joined the conference and left")
    expect(page.locator(".timeline")).to_contain_text("participant-join")
    expect(page.locator(".timeline")).to_contain_text("completed")
    page.locator(".timeline details summary").first.click()
    screenshot(page, artifacts_dir / "4-call-detail.png")

    # Export what the list shows, as CSV.
    page.goto(f"{live_server.url}/history/?conference=standup")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    content = download_info.value.path().read_text(encoding="utf-8-sig")
    rows = {row["dial_id"]: row for row in csv.DictReader(io.StringIO(content))}
    assert set(rows) == {str(live.pk), str(refused.pk)}
    assert rows[str(live.pk)]["status"] == "completed"
    # A number the app checked as E.164 cannot be a formula: it exports as it is (issue 20).
    assert rows[str(live.pk)]["to"] == TALKS_FOR_A_WHILE

    page.goto(f"{live_server.url}/history/overview/")
    expect(page.locator("#total-dials")).to_have_text("2")
    expect(page.locator("#chart-daily")).to_be_visible()
    screenshot(page, artifacts_dir / "5-overview.png")
    print(f"screenshots in {artifacts_dir}")
