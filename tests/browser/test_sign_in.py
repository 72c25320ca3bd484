from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_signs_in_through_the_real_page(
    page: Page, live_server, operator, browser_problems, artifacts_dir
):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=artifacts_dir / "1-login.png", full_page=True, caret="initial")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dial a caller")).to_be_visible()
    expect(page.locator(".role-badge")).to_have_text("operator")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("History")
    # htmx loaded under the CSP (a blocked script would leave window.htmx undefined).
    assert page.evaluate("typeof window.htmx") == "object"
    page.screenshot(path=artifacts_dir / "2-signed-in.png", full_page=True, caret="initial")
    print(f"screenshots in {artifacts_dir}")


def test_wrong_password_shows_an_error_in_the_page(
    page: Page, live_server, operator, browser_problems
):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Please enter a correct username and password"
    )
