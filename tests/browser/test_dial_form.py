from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conferences.models import DialRequest
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_expands_groups_fixes_an_error_in_place_and_dials(
    page: Page, live_server, operator, browser_problems, artifacts_dir
):
    sign_in(page, live_server.url, "olivia")
    expect(page.get_by_role("heading", name="Dial a caller")).to_be_visible()
    page.screenshot(path=artifacts_dir / "1-collapsed.png", full_page=True, caret="initial")

    page.locator("#id_conference").fill("Quarterly review")
    page.locator("#id_to").fill("+15005550006")
    page.locator("#id_from").fill("+15005550006")

    page.get_by_role("button", name="Call behaviour").click()
    timeout = page.locator("#id_timeout")
    expect(timeout).to_be_visible()
    timeout.fill("2")  # below Twilio's minimum of 5
    page.get_by_role("button", name="Machine detection").click()
    page.locator("#id_machine_detection").select_option("Enable")
    page.screenshot(path=artifacts_dir / "2-expanded.png", full_page=True, caret="initial")

    # Collapse and expand again: what was typed survives.
    page.get_by_role("button", name="Call behaviour").click()
    expect(page.locator("#id_timeout")).to_have_count(0)
    page.get_by_role("button", name="Call behaviour").click()
    expect(page.locator("#id_timeout")).to_have_value("2")

    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.get_by_text("Ensure this value is greater than or equal to 5.")).to_be_visible()
    expect(page.locator("#id_conference")).to_have_value("Quarterly review")
    expect(page.locator("#id_machine_detection")).to_have_value("Enable")
    page.screenshot(path=artifacts_dir / "3-error-in-place.png", full_page=True, caret="initial")
    assert DialRequest.objects.count() == 0

    page.locator("#id_timeout").fill("20")
    page.locator("#id_timeout").press("Enter")  # Enter dials
    expect(page.get_by_role("status").filter(has_text="Dialing +15005550006")).to_be_visible()
    expect(page.locator("#recent-dials")).to_contain_text("Quarterly review")
    expect(page.locator("#id_to")).to_have_value("")
    expect(page.locator("#id_to")).to_be_focused()
    page.screenshot(path=artifacts_dir / "4-dialed.png", full_page=True, caret="initial")
    dial = DialRequest.objects.get()
    assert dial.params["Timeout"] == "20" and dial.params["MachineDetection"] == "Enable"
    print(f"screenshots in {artifacts_dir}")
