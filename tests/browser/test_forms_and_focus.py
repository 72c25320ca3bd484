"""Every form of the screens, driven in Chromium: invalid input is shown in place with what
was typed kept, and no old success message stands beside it; focus lands on something
sensible after each htmx swap; keys typed while a dial is being sent are kept."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from conferences.accounts.twilio_accounts import default_account
from conferences.models import Conference, ConferenceStatus, DialRequest, DialStatus
from tests.support.browser import serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE_ID = "() => document.activeElement ? document.activeElement.id : ''"


@pytest.fixture
def room(operator) -> Conference:
    """A running conference the operator owns, with bob in it."""
    conference = Conference.objects.create(
        account=default_account(),
        friendly_name="Board call",
        created_by=operator,
        status=ConferenceStatus.IN_PROGRESS,
        sid="CF" + "d" * 32,
        started_at=timezone.now(),
    )
    DialRequest.objects.create(
        account=conference.account,
        conference=conference,
        operator=operator,
        to_number="+15005550006",
        from_number="+15005550006",
        label="bob",
        params={"To": "+15005550006", "From": "+15005550006", "Label": "bob"},
        call_sid="CA" + "d" * 32,
        status=DialStatus.IN_PROGRESS,
        joined_at=timezone.now(),
    )
    return conference


def test_keys_typed_while_a_dial_is_sent_are_kept_and_focus_stays_in_to(
    page: Page, live_server, operator, browser_problems
):
    sign_in(page, live_server.url, "olivia")
    page.locator("#id_conference").fill("Quarterly review")
    page.locator("#id_to").fill("+15005550006")
    page.locator("#id_to").press("Enter")
    # The next caller, typed at once, while the first dial is still on its way.
    page.keyboard.type("+15005550026", delay=5)
    expect(page.locator("#recent-dials")).to_contain_text("Quarterly review")
    expect(page.locator("#id_to")).to_have_value("+15005550026")
    assert page.evaluate(ACTIVE_ID) == "id_to"
    assert DialRequest.objects.get().to_number == "+15005550006"


def test_toggling_a_group_keeps_the_focus_on_its_button(page: Page, live_server, operator):
    sign_in(page, live_server.url, "olivia")
    page.get_by_role("button", name="Call behaviour").click()
    expect(page.locator("#id_timeout")).to_be_visible()
    assert page.evaluate(ACTIVE_ID) == "toggle-call"


def test_a_label_used_again_is_refused_in_place_with_a_free_one_and_dials_on_enter(
    page: Page, live_server, operator, browser_problems, artifacts_dir
):
    sign_in(page, live_server.url, "olivia")
    for _ in range(2):
        page.locator("#id_conference").fill("Board call")
        page.locator("#id_to").fill("+15005550006")
        page.locator("#id_label").fill("bob")
        page.get_by_role("button", name="Dial", exact=True).click()
        expect(page.locator("#recent-dials")).to_contain_text("bob")
    expect(page.locator("#dial-form .errorlist")).to_contain_text("“bob-2” is free")
    expect(page.locator("#id_label")).to_have_value("bob-2")
    expect(page.locator("#id_to")).to_have_value("+15005550006")
    assert page.evaluate("() => document.activeElement.closest('#dial-form') !== null")
    assert serious_violations(page) == []  # the page in its error state
    page.screenshot(path=artifacts_dir / "label-in-use.png", full_page=True)
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#recent-dials")).to_contain_text("bob-2")
    assert sorted(DialRequest.objects.values_list("label", flat=True)) == ["bob", "bob-2"]


def test_redial_from_recent_dials_dials_the_caller_again_in_place(
    page: Page, live_server, operator, room, browser_problems
):
    DialRequest.objects.update(status=DialStatus.COMPLETED)
    sign_in(page, live_server.url, "olivia")
    page.get_by_role("button", name="Redial bob").click()
    expect(page.locator("#recent-dials")).to_contain_text("again as “bob-2”")
    assert DialRequest.objects.filter(label="bob-2", conference=room).exists()


def test_the_plan_form_shows_its_error_in_place(page: Page, live_server, operator):
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/conferences/")
    page.get_by_role("button", name="Open the conference").click()
    expect(page.locator(".plan-conference .errorlist")).to_be_visible()


def test_the_conference_pages_forms_show_errors_in_place_and_keep_the_focus_near(
    page: Page, live_server, operator, room, artifacts_dir
):
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/conferences/{room.pk}/")

    # Add a caller: a bad number stays, with its error beside it.
    box = page.locator("#add-caller")
    box.get_by_label("To").fill("not a number")
    box.get_by_label("Label").fill("carol")
    box.get_by_role("button", name="Dial").click()
    expect(page.locator("#add-caller .errorlist")).to_be_visible()
    expect(page.locator("#add-caller-to")).to_have_value("not a number")
    expect(page.locator("#add-caller-label")).to_have_value("carol")
    assert page.evaluate("() => document.activeElement.closest('#add-caller') !== null")
    assert serious_violations(page) == []
    page.locator("#add-caller-to").fill("+15005550006")
    page.locator("#add-caller").get_by_role("button", name="Dial").click()
    expect(page.locator("#live-status")).to_contain_text("Dialing carol into Board call.")

    # Check the list: an empty list is an error in place; the success line goes.
    page.get_by_role("button", name="Check the list").click()
    expect(page.locator("#invite-import .field-error, #invite-import .form-errors")).to_be_visible()
    expect(page.locator("#live-status")).not_to_contain_text("Dialing carol")

    # A participant action answered with the roster out of band: focus is not lost.
    page.get_by_role("button", name="Mute: bob (+15005550006)").click()
    expect(page.locator("#live-status .message")).to_be_visible()
    assert page.evaluate(
        "() => document.activeElement !== document.body"
        " && document.activeElement.closest('#roster') !== null"
    )
    assert serious_violations(page) == []
    page.screenshot(path=artifacts_dir / "conference-forms.png", full_page=True)


# Records where the focus is at the first moment `selector` is in the page: a mutation
# observer runs after the task that changed the page, so after every handler of the swap.
FOCUS_WHEN_SHOWN = """selector => {
  window.focusWhenShown = null;
  new MutationObserver((changes, observer) => {
    if (document.querySelector(selector)) {
      const active = document.activeElement;
      window.focusWhenShown = active && active !== document.body ? active.id : "body";
      observer.disconnect();
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def test_the_focus_reaches_the_field_to_fix_as_its_error_appears_not_after(
    page: Page, live_server, operator, room
):
    """Focus moved after htmx's settle delay (20 ms) left a window in which the errors were
    shown and the focus was still on its way: keys pressed then (a quick typist, a script)
    went into the field the focus was leaving."""
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/conferences/{room.pk}/")
    page.locator("summary", has_text="Settings").click()
    page.get_by_label("Redial at most").fill("99")
    page.evaluate(FOCUS_WHEN_SHOWN, "#settings .errorlist")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings .errorlist")).to_contain_text("less than or equal to 10")
    assert page.evaluate("() => window.focusWhenShown") == "id_redial_max"
    expect(page.get_by_label("Redial at most")).to_be_focused()


def test_the_preset_form_says_what_is_missing_in_place(page: Page, live_server, operator):
    sign_in(page, live_server.url, "olivia")
    page.locator("summary", has_text="Presets").click()
    page.get_by_role("button", name="Save preset").click()
    expect(page.locator("details.presets .field-error")).to_be_visible()
