"""A supervisor plans an event for five minutes from now with twenty invitees in three roles
from the page, sees its countdown and who will be dialed, and after the dial-out (the beat
brought forward) runs lecture mode and, after the end, reads the summary; screenshots at
1280 and 390 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from conferences.events import planning
from conferences.live import actions as live_actions
from conferences.live.attendance import Attendance
from conferences.models import Conference, ConferenceStatus, EventStatus, ScheduledConference
from tests.events.helpers import HOSTS, LISTENERS, SPEAKERS, beat_at, states
from tests.live.helpers import fast_account
from tests.support.browser import screenshots_at_widths, sign_in
from tests.support.dialing import CALLER_ID
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("events"),
]


def test_a_supervisor_plans_an_event_and_reads_its_summary_after_the_call(
    page: Page, live_server, workers, supervisor, browser_problems, artifacts_dir
):
    fast_account(calls_per_second=10)
    expect.set_options(timeout=15_000)
    sign_in(page, live_server.url, supervisor.username)
    page.goto(f"{live_server.url}/conferences/events/")
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=6)

    page.get_by_label("Conference name").fill("board call")
    page.get_by_label("Starts at").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_label("Dial out this many minutes before").fill("1")
    page.get_by_label("Hosts").fill("\n".join(HOSTS))
    page.get_by_label("Speakers").fill("\n".join(SPEAKERS))
    page.get_by_label("Listeners").fill("\n".join(LISTENERS))
    page.get_by_role("button", name="Plan it").click()

    expect(page.get_by_role("heading", name="board call", level=1)).to_be_visible()
    expect(page.locator(".countdown")).to_contain_text("starts in")
    will_dial = page.get_by_role("region", name="Will dial, in this order")
    expect(will_dial).to_contain_text("2 hosts, 3 speakers, 15 listeners")
    screenshots_at_widths(page, artifacts_dir, "1-planned")
    event = ScheduledConference.objects.get()
    assert event.starts_at == starts and event.status == EventStatus.SCHEDULED

    page.goto(f"{live_server.url}/conferences/events/")
    expect(page.locator("#upcoming .event-card")).to_contain_text("Will dial 20")
    screenshots_at_widths(page, artifacts_dir, "2-upcoming")

    beat_at(event.dial_at)
    wait_for(lambda: states(supervisor, event) == {Attendance.IN_CONFERENCE: 20}, timeout=60)
    page.goto(f"{live_server.url}/conferences/events/{event.pk}/")
    expect(page.locator('#console [data-role="listener"] li')).to_have_count(15)
    page.get_by_role("button", name="Lecture mode: mute every listener").click()
    expect(page.locator(".messages")).to_contain_text("Lecture mode is on: 15 listeners muted.")
    expect(page.locator('#console [data-lecture="on"]')).to_be_visible()
    wait_for(lambda: page.locator('#console [data-role="listener"] .tag-muted').count() == 15)
    screenshots_at_widths(page, artifacts_dir, "3-in-the-call-lecture")

    conference = Conference.objects.get(pk=event.conference_id)
    assert live_actions.end_conference(user=supervisor, conference=conference).ok
    wait_for(
        lambda: Conference.objects.filter(
            pk=conference.pk, status=ConferenceStatus.COMPLETED, ended_at__isnull=False
        ).exists(),
        timeout=20,
    )
    wait_for(lambda: Attendance.IN_CONFERENCE not in states(supervisor, event), timeout=20)
    page.get_by_role("link", name="Summary and attendance").click()
    expect(page.get_by_role("heading", name="Summary of board call")).to_be_visible()
    expect(page.locator('[data-summary="joined"]')).to_have_text("20 of 20")
    expect(page.locator('[data-summary="peak"]')).to_have_text("20")
    expect(page.locator(".ended-how")).to_contain_text("ended it from this page")
    screenshots_at_widths(page, artifacts_dir, "4-summary")


@pytest.mark.usefixtures("browser_problems")
def test_a_start_planned_to_the_second_survives_an_edit_in_the_browser(
    page: Page, live_server, supervisor, artifacts_dir
):
    """Chromium refuses a datetime-local value finer than its step: the seconds the API
    planned must be shown and sent back, not cut or stopped at the browser's check."""
    starts = datetime(2999, 1, 15, 14, 30, 45, tzinfo=UTC)
    event = planning.plan_event(
        user=supervisor,
        plan=planning.EventPlan(
            friendly_name="to the second",
            starts_at=starts,
            time_zone="UTC",
            dial_lead_seconds=120,
            caller_id=CALLER_ID,
            lists={"host": HOSTS[0]},
        ),
    )
    sign_in(page, live_server.url, supervisor.username)
    page.goto(f"{live_server.url}/conferences/events/{event.pk}/")
    expect(page.get_by_label("Starts at")).to_have_value("2999-01-15T14:30:45")
    page.get_by_label("Dial out this many minutes before").fill("5")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_be_visible()
    screenshots_at_widths(page, artifacts_dir, "edited-to-the-second")
    event.refresh_from_db()
    assert (event.starts_at, event.dial_lead_seconds) == (starts, 300)
