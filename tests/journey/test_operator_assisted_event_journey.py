"""A supervisor runs an operator-assisted event (issue 21) through the app as `make run`
starts it: planned from the page to start in seconds, dialed out by the beat by role,
lecture mode, listening and whispering from their own phone, then the summary."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conferences.models import ROLE_ORDER
from tests.support.browser import screenshots_at_widths, sign_in
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Magic sandbox numbers +15005552NNN ring NNN seconds, then a person answers and stays.
HOSTS = {"+15005552001": "Hana Host", "+15005552002": "Hugo Host"}
SPEAKERS = {"+15005552003": "Sia Speaker", "+15005552004": "Sven Speaker", "+15005552005": "Sol"}
LISTENERS = {f"+15005552{i:03d}": f"Listener {i}" for i in range(6, 21)}
ROLE_OF = {
    **dict.fromkeys(HOSTS, "host"),
    **dict.fromkeys(SPEAKERS, "speaker"),
    **dict.fromkeys(LISTENERS, "listener"),
}
# The supervisor's own phone: a person answers and stays (never one of the invitees).
OWN_PHONE = "+15005550006"
# Far enough ahead to fill in and send the form, near enough not to wait for long.
START_AHEAD = timedelta(seconds=25)


def lines(people: dict[str, str]) -> str:
    return "\n".join(f"{number}, {name}" for number, name in people.items())


def param(entry: dict[str, Any], name: str) -> str | None:
    values = entry["params"].get(name) or [None]
    return values[0]


def creates(journal: Callable[..., list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Create Participant requests the sandbox answered, oldest first."""
    return [
        entry
        for entry in journal("requests", method="POST")
        if entry["path"].endswith("/Participants.json") and entry["status"] == 201
    ]


def test_a_supervisor_plans_an_event_and_runs_it_from_the_browser_to_the_summary(
    page: Page, running_app, supervisor, browser_problems, artifacts_dir
):
    journal = running_app.sandbox_journal
    expect.set_options(timeout=20_000)
    sign_in(page, running_app.url, "sam")
    page.get_by_role("link", name="Conferences", exact=True).click()
    page.get_by_role("link", name="Scheduled conferences").click()

    # Planned in the supervisor's own zone, to the second, dialed out at the start.
    zone = zoneinfo.ZoneInfo(page.get_by_label("Time zone").input_value())
    starts = datetime.now(UTC).replace(microsecond=0) + START_AHEAD
    page.get_by_label("Conference name").fill("Quarterly results call")
    page.get_by_label("Starts at").fill(starts.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Dial out this many minutes before").fill("0")
    page.get_by_label("Hosts").fill(lines(HOSTS))
    page.get_by_label("Speakers").fill(lines(SPEAKERS))
    page.get_by_label("Listeners").fill(lines(LISTENERS))
    page.get_by_role("button", name="Plan it").click()

    expect(page.get_by_role("heading", name="Quarterly results call", level=1)).to_be_visible()
    event_url = page.url
    expect(page.locator("#countdown .countdown")).to_contain_text("starts in")
    will_dial = page.get_by_role("region", name="Will dial, in this order")
    expect(will_dial).to_contain_text("2 hosts, 3 speakers, 15 listeners")
    assert creates(journal) == [], "nobody may be dialed before the start"
    screenshots_at_widths(page, artifacts_dir, "event-1-planned")

    # Without touching anything: the beat dials out at the start, and the page shows it.
    expect(page.locator("#console")).to_be_visible(timeout=90_000)
    placed = wait_for(lambda: len(creates(journal)) >= len(ROLE_OF) and creates(journal))
    numbers = [str(param(entry, "To")) for entry in placed]
    assert sorted(numbers) == sorted(ROLE_OF), "everyone dialed, nobody twice"
    first_call = datetime.fromisoformat(placed[0]["time"])
    assert first_call >= starts, f"dialed at {first_call}, before the start at {starts}"
    roles = [ROLE_OF[number] for number in numbers]
    assert roles == sorted(roles, key=ROLE_ORDER.index), f"dialed out of order: {roles}"

    console = page.locator("#console")
    for role, people in (("host", HOSTS), ("speaker", SPEAKERS), ("listener", LISTENERS)):
        joined = console.locator(f'[data-role="{role}"] li').filter(has_text="In the conference")
        expect(joined).to_have_count(len(people), timeout=60_000)

    # Lecture mode: every listener muted in one action.
    page.get_by_role("button", name="Lecture mode: mute every listener").click()
    expect(page.locator(".messages")).to_contain_text("Lecture mode is on: 15 listeners muted.")
    expect(console.locator('[data-lecture="on"]')).to_be_visible()
    expect(console.locator('[data-role="listener"] .tag-muted')).to_have_count(len(LISTENERS))

    # Their own phone: listen (one call, muted), then whisper to a host on the same call.
    console.get_by_role("link", name="My phone").click()
    page.get_by_label("My phone").fill(OWN_PHONE)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    page.goto(event_url)
    page.get_by_role("button", name="Listen", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Calling your phone")
    operators = console.locator('[data-role="operator"] li')
    expect(operators.filter(has_text="In the conference")).to_have_count(1, timeout=30_000)
    expect(console.locator('.monitor[data-monitor="listen"]')).to_be_visible()
    host_call = console.locator("#whisper-target option").filter(has_text="Hana Host")
    host_sid = host_call.get_attribute("value")
    assert host_sid and host_sid.startswith("CA")
    console.locator("#whisper-target").select_option(host_sid)
    console.get_by_role("button", name="Whisper", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Whispering: Twilio accepted it.")
    expect(console.locator('.monitor[data-monitor="whisper"]')).to_be_visible()
    expect(console.locator('[data-role="operator"]')).to_contain_text("not attendance")
    screenshots_at_widths(page, artifacts_dir, "event-2-lecture-and-whisper")

    own_legs = [entry for entry in creates(journal) if param(entry, "To") == OWN_PHONE]
    assert len(own_legs) == 1 and param(own_legs[0], "Muted") == "true"
    whispers = [
        entry
        for entry in journal("requests", method="POST")
        if param(entry, "CallSidToCoach") == host_sid and param(entry, "Coaching") == "true"
    ]
    assert len(whispers) == 1, "the whisper updates the listening call, never a new one"

    # The supervisor ends the conference and reads the summary.
    page.get_by_role("link", name="Open the live conference").click()
    page.get_by_role("link", name="End the conference for everyone…").click()
    page.get_by_role("button", name="Yes, end it for everyone").click()
    wait_for(lambda: journal("callbacks", event="conference-end"), timeout=30)
    page.goto(event_url)
    page.get_by_role("link", name="Summary and attendance").click()
    expect(page.get_by_role("heading", name="Summary of Quarterly results call")).to_be_visible()

    # What the sandbox says happened: every invitee's call answered, one attempt each.
    answered = {
        param(entry, "To")
        for entry in journal("callbacks")
        if param(entry, "CallStatus") == "in-progress" and param(entry, "To") in ROLE_OF
    }
    attempts = [entry for entry in creates(journal) if param(entry, "To") in ROLE_OF]
    assert answered == set(ROLE_OF)

    def summary_settled() -> bool:
        page.reload()
        rows = page.locator(".attendance-table tbody tr")
        still_in = rows.and_(page.locator('[data-attendance="in-conference"]'))
        ended = page.locator(".ended-how").count() == 1  # the conference-end was applied
        return ended and rows.count() == len(ROLE_OF) and still_in.count() == 0

    wait_for(summary_settled, timeout=30, interval=0.5)
    expect(page.locator('[data-summary="joined"]')).to_have_text(
        f"{len(answered)} of {len(ROLE_OF)}"
    )
    # The operator's leg is no attendance: the peak counts invitees only.
    expect(page.locator('[data-summary="peak"]')).to_have_text(str(len(answered)))
    expect(page.locator('[data-summary="attempts"]')).to_have_text(str(len(attempts)))
    expect(page.locator(".ended-how")).to_contain_text("sam")
    for number in ROLE_OF:
        row = page.locator(".attendance-table tbody tr").filter(has_text=number)
        expect(row.locator("td").nth(1)).not_to_have_text("no")
    screenshots_at_widths(page, artifacts_dir, "event-3-summary")
    print(f"screenshots in {artifacts_dir}")
