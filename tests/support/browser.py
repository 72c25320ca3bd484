"""Driving the app's pages in Chromium the way a person does."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.support.users import PASSWORD


def sign_in(page: Page, base_url: str, username: str) -> None:
    """Sign in through the login form as a user made by `make_user`."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
