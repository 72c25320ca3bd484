"""A supervisor checks the webhooks and reads the audit trail in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from tests.support.callbacks import make_dial
from tests.support.users import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".role-badge")).to_be_visible()


def test_a_supervisor_runs_the_self_test_and_sees_it_pass(
    page: Page, live_server, settings, supervisor, redis_db, browser_problems, artifacts_dir
):
    settings.PUBLIC_BASE_URL = live_server.url
    sign_in(page, live_server, supervisor.username)
    page.goto(f"{live_server.url}/ops/webhooks/")
    expect(page.get_by_role("heading", name="Webhook health", level=1)).to_be_visible()
    expect(page.locator(".health-verdict")).to_contain_text("Last callback: none yet.")
    page.get_by_role("button", name="Send a test callback").click()
    result = page.locator("#self-test-result")
    expect(result).to_contain_text("Passed.", timeout=10_000)
    expect(result).to_contain_text("signature verified")
    assert page.url == f"{live_server.url}/ops/webhooks/"  # swapped in place by htmx
    page.screenshot(path=str(artifacts_dir / "webhook-health-self-test.png"), full_page=True)


def test_a_supervisor_filters_the_audit_trail_by_action(
    page: Page, live_server, supervisor, operator, browser_problems, artifacts_dir
):
    dial = make_dial(operator)
    audit.record(AuditAction.DIAL, actor=operator, dial=dial)
    audit.record(AuditAction.RECONCILE, actor=supervisor, dial=dial, outcome="failed")
    sign_in(page, live_server, supervisor.username)
    page.goto(f"{live_server.url}/ops/audit/")
    rows = page.locator(".audit-table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Action").select_option("reconcile")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("reconcile")
    expect(rows.first).to_contain_text("failed")
    expect(page).to_have_url(re.compile(r"/ops/audit/\?.*action=reconcile"))
    page.screenshot(path=str(artifacts_dir / "audit-trail-filtered.png"), full_page=True)
