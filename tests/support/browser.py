"""Driving the app's pages in Chromium the way a person does."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

from tests.support.users import PASSWORD

# axe-core's impacts that fail a page (issue 20: zero serious or critical violations).
SERIOUS = frozenset({"serious", "critical"})


def sign_in(page: Page, base_url: str, username: str) -> None:
    """Sign in through the login form as a user made by `make_user`."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


# The widths every screen is looked at: a laptop, and a phone held upright.
SCREENSHOT_WIDTHS = {"wide": 1280, "narrow": 390}


def screenshots_at_widths(page: Page, folder: Path, name: str) -> None:
    """The whole page at each width (`<name>-wide.png`, `<name>-narrow.png`), then wide again."""
    for label, width in SCREENSHOT_WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=folder / f"{name}-{label}.png", full_page=True, caret="initial")
    page.set_viewport_size({"width": SCREENSHOT_WIDTHS["wide"], "height": 900})


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each
    (rule, impact, the first few elements). axe-core ships inside the wheel; Playwright
    injects it through the DevTools protocol, so the page's CSP does not stand in the way."""
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
