"""In Chromium: a user makes a token from the nav's API page and sees it once; the API's
docs page (Swagger UI, served from the app's own static files) works under the CSP."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conferences.api.tokens import TOKEN_PATTERN
from conferences.models import ApiToken, User
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_makes_a_token_from_the_nav_and_sees_it_once(
    page: Page, live_server: Any, operator: User, browser_problems: Any, artifacts_dir: Any
) -> None:
    sign_in(page, live_server.url, "olivia")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Token name").fill("CRM sync")
    page.get_by_role("button", name="Make token").click()
    secret = page.locator("#new-token-secret").inner_text()
    assert TOKEN_PATTERN.fullmatch(secret)
    page.screenshot(path=artifacts_dir / "1-token-made.png", full_page=True)
    page.goto(f"{live_server.url}/account/api-tokens/")
    expect(page.get_by_role("cell", name="CRM sync")).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Token “CRM sync” revoked.")).to_be_visible()
    assert ApiToken.objects.get().revoked_at is not None
    page.screenshot(path=artifacts_dir / "2-token-revoked.png", full_page=True)


def test_the_docs_page_renders_every_operation_under_the_csp(
    page: Page, live_server: Any, browser_problems: Any, artifacts_dir: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    answer = page.goto(f"{live_server.url}/api/v1/docs")
    assert answer is not None and "script-src" in answer.headers["content-security-policy"]
    expect(page.get_by_text("POST/api/v1/dials").first).to_be_visible(timeout=15_000)
    document = page.request.get(f"{live_server.url}/api/v1/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    assert page.locator(".opblock").count() == operations
    assert all(url.startswith(live_server.url) for url in requested), requested
    page.screenshot(path=artifacts_dir / "docs.png", full_page=True)
