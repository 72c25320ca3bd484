"""An operator runs a conference from the page alone: plans it, uploads an invite list,
dials everyone missing, watches the progress bar and the roster, mutes and removes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conferences.audit.trail import AuditAction
from conferences.models import AuditEntry, Invitee
from tests.live.helpers import fast_account
from tests.support.users import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("live"),
]

INVITE_LIST = """number,name,label
+15005550006,Alice,alice
+15005550020,Bob,bob
+15005552001,Carl,
12345,Typo,
"""


def sign_in(page: Page, live_server, next_path: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_operator_runs_a_conference_from_the_page_alone(
    page: Page, live_server, workers, operator, browser_problems, artifacts_dir, tmp_path
):
    fast_account()
    expect.set_options(timeout=15_000)
    sign_in(page, live_server, "/conferences/")
    page.get_by_label("Conference name").fill("browser demo")
    page.get_by_role("button", name="Open the conference").click()
    expect(page.get_by_role("heading", name="browser demo", level=1)).to_be_visible()

    csv_file = tmp_path / "invitees.csv"
    csv_file.write_text(INVITE_LIST)
    page.get_by_label("Or upload a CSV file").set_input_files(csv_file)
    page.get_by_role("button", name="Check the list").click()
    preview = page.get_by_role("region", name="Checked invite list")
    expect(preview).to_contain_text("3 rows can be added; 1 cannot")
    expect(preview).to_contain_text("“12345” is")
    page.screenshot(path=artifacts_dir / "1-invite-list-checked.png", full_page=True)
    assert Invitee.objects.count() == 0  # nothing stored before confirming

    page.get_by_role("button", name="Add 3 invitees, leave out 1").click()
    expect(page.locator("#live-status")).to_contain_text("3 invitees added.")
    invitees = page.locator("#invitees")
    expect(invitees.locator('[data-attendance="not-dialed"]')).to_have_count(3)

    page.get_by_role("button", name="Dial all missing").click()
    expect(page.locator("#live-status")).to_contain_text("Dialing 3 invitees.")
    expect(page.locator("#bulk-progress")).to_have_attribute("max", "3")
    expect(page.locator("#bulk-progress")).to_have_attribute("value", "3")
    expect(invitees.locator('[data-attendance="in-conference"]')).to_have_count(3)
    page.screenshot(path=artifacts_dir / "2-everyone-dialed.png", full_page=True)

    roster = page.locator("#roster")
    expect(roster.locator("tr.participant.stage-joined")).to_have_count(3)
    page.get_by_role("button", name="Mute: Alice (+15005550006)").click()
    alice = roster.locator("tr.participant", has_text="Alice")
    expect(alice.locator(".tag-muted")).to_have_text("Muted")
    expect(page.get_by_role("button", name="Unmute: Alice (+15005550006)")).to_be_visible()
    page.screenshot(path=artifacts_dir / "3-alice-muted.png", full_page=True)

    page.get_by_role("link", name="Remove…: Bob (+15005550020)").click()
    confirm = roster.locator("form.confirm")
    expect(confirm).to_contain_text("Remove Bob (+15005550020) from the conference?")
    page.screenshot(path=artifacts_dir / "4-confirm-removal.png", full_page=True)
    confirm.get_by_role("button", name="Yes, remove").click()
    expect(roster.locator("table.before")).to_contain_text("Bob (+15005550020)")
    expect(roster.locator("table.before")).to_contain_text("Removed")
    expect(invitees.locator("tr", has_text="Bob").locator("[data-attendance]")).to_have_text(
        "Removed"
    )
    page.screenshot(path=artifacts_dir / "5-bob-removed.png", full_page=True)

    actions = set(AuditEntry.objects.values_list("action", "dial__label"))
    assert {(AuditAction.MUTE, "alice"), (AuditAction.REMOVE, "bob")} <= actions
    print(f"screenshots in {artifacts_dir}")
