"""A form with errors shows them in place, keeping what was typed, and no success message
from before stays (htmx swaps 422 answers: `responseHandling` in base.html)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conferences.accounts.twilio_accounts import default_account
from conferences.models import Conference, ConferenceStatus
from tests.support.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_conference(operator) -> Conference:
    return Conference.objects.create(
        account=default_account(),
        friendly_name="errors shown",
        status=ConferenceStatus.IN_PROGRESS,
        created_by=operator,
    )


def open_as_operator(page: Page, live_server, conference: Conference) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next=/conferences/{conference.pk}/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=conference.friendly_name, level=1)).to_be_visible()


def test_the_announce_and_settings_forms_show_their_errors_in_place(
    page: Page, live_server, own_conference, artifacts_dir
):
    expect.set_options(timeout=10_000)
    open_as_operator(page, live_server, own_conference)

    page.locator("summary", has_text="Settings").click()
    page.get_by_label("Redial at most").fill("2")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#live-status")).to_contain_text("Settings saved.")

    page.get_by_label("Redial at most").fill("99")
    page.get_by_role("button", name="Save settings").click()
    settings_form = page.locator("#settings")
    expect(settings_form.locator(".errorlist")).to_contain_text("less than or equal to 10")
    expect(page.get_by_label("Redial at most")).to_have_value("99")
    expect(page.get_by_label("Redial at most")).to_be_focused()

    page.get_by_label("Announcement URL").fill("not a web address")
    page.get_by_role("button", name="Play to everyone").click()
    announce = page.locator("#announce")
    expect(announce.locator(".errorlist")).to_be_visible()
    expect(page.get_by_label("Announcement URL")).to_have_value("not a web address")
    expect(page.locator("#live-status")).not_to_contain_text("Settings saved.")
    page.screenshot(path=artifacts_dir / "form-errors-in-place.png", full_page=True)
