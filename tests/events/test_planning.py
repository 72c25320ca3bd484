"""Planning, editing and cancelling scheduled conferences through their pages: the start
typed in the planner's zone is kept in UTC, bad input is shown in place, and only the
people who run a conference see or change its plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from conferences.accounts import roles
from conferences.events import dial_out, planning
from conferences.models import AuditEntry, EventStatus, InviteeRole, ScheduledConference
from tests.live.helpers import client_for
from tests.support.dialing import CALLER_ID
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

LISTS = {
    "host": "+15005550006, Hana Host",
    "speaker": "+15005550020, Sia Speaker",
    "listener": "+15005552001, Lee Listener\n+15005552002, Lou Listener",
}


def form_data(**changes: str) -> dict[str, str]:
    data = {
        "friendly_name": "earnings call",
        "starts_at": "2999-01-15T09:30",
        "time_zone": "America/New_York",
        "dial_lead_minutes": "2",
        "caller_id": CALLER_ID,
        **LISTS,
    }
    data.update(changes)
    return data


def plan(client, **changes: str):
    return client.post(reverse("conferences:event-plan"), form_data(**changes))


def test_the_start_typed_in_the_planners_zone_is_kept_in_utc_with_the_dial_out_before_it(
    supervisor,
):
    answer = plan(client_for(supervisor))
    event = ScheduledConference.objects.get()
    assert answer.status_code == 302 and answer.url == reverse(
        "conferences:event-detail", args=[event.pk]
    )
    assert event.starts_at == datetime(2999, 1, 15, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert event.dial_at == datetime(2999, 1, 15, 14, 28, tzinfo=UTC)
    assert event.time_zone == "America/New_York"
    assert event.status == EventStatus.SCHEDULED
    roles_typed = dict(event.conference.invitees.values_list("name", "role"))
    assert roles_typed == {
        "Hana Host": InviteeRole.HOST,
        "Sia Speaker": InviteeRole.SPEAKER,
        "Lee Listener": InviteeRole.LISTENER,
        "Lou Listener": InviteeRole.LISTENER,
    }
    assert AuditEntry.objects.filter(action="plan-event", actor=supervisor).count() == 1


def test_the_events_page_shows_the_countdown_and_who_will_be_dialed_in_order(supervisor):
    client = client_for(supervisor)
    plan(client)
    page = client.get(reverse("conferences:event-list")).content.decode()
    assert "starts in" in page and "earnings call" in page
    assert "Will dial 4: 1 host, 1 speaker, 2 listeners" in page
    assert page.index("Hana Host") < page.index("Sia Speaker") < page.index("Lee Listener")
    fragment = client.get(reverse("conferences:event-list"), HTTP_HX_REQUEST="true")
    text = fragment.content.decode()
    assert text.lstrip().startswith('<section id="upcoming"') and "<html" not in text
    assert fragment["Vary"] and "HX-Request" in fragment["Vary"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"starts_at": "2001-01-01T10:00"}, "starts_at", "far enough ahead"),
        ({"starts_at": "not a time"}, "starts_at", "Enter a valid date/time"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        ({"dial_lead_minutes": "61"}, "dial_lead_minutes", "less than or equal to 60"),
        ({"caller_id": "+19999999999"}, "caller_id", "Select a valid choice"),
        ({"listener": "call me maybe, Bad"}, "listener", "Line 1"),
        ({"friendly_name": "a/b"}, "friendly_name", "cannot contain"),
        # Days at either end of the calendar: moved into UTC they would leave it (a 500).
        (
            {"starts_at": "0001-01-01T00:00", "time_zone": "Asia/Tokyo"},
            "starts_at",
            "Dates must lie between",
        ),
        (
            {"starts_at": "9999-12-31T23:59", "time_zone": "America/Los_Angeles"},
            "starts_at",
            "Dates must lie between",
        ),
    ],
)
def test_bad_input_is_shown_in_the_form_and_nothing_is_planned(supervisor, changes, field, words):
    answer = plan(client_for(supervisor), **changes)
    assert answer.status_code == 422
    page = answer.content.decode()
    assert f'id="id_{field}-errors"' in page, page[page.find("errorlist") - 200 :][:600]
    assert words in page
    assert not ScheduledConference.objects.exists()
    assert not AuditEntry.objects.filter(action="plan-event").exists()


def test_a_plan_can_change_until_its_dial_out_and_not_after(supervisor):
    client = client_for(supervisor)
    plan(client)
    event = ScheduledConference.objects.get()
    url = reverse("conferences:event-detail", args=[event.pk])
    moved = client.post(
        url,
        form_data(
            starts_at="2999-01-15T11:00",
            dial_lead_minutes="5",
            host="",
            speaker="",
            listener="+15005552003, Lia",
        ),
    )
    assert moved.status_code == 302
    event.refresh_from_db()
    assert event.starts_at == datetime(2999, 1, 15, 16, 0, tzinfo=UTC)
    assert event.dial_at == event.starts_at - timedelta(minutes=5)
    assert event.conference.invitees.get(name="Lia").role == InviteeRole.LISTENER
    assert event.conference.friendly_name == "earnings call"  # the name stays

    assert dial_out.claim_event(event.pk, event.dial_at)  # the dial-out begins
    console = reverse("conferences:event-console", args=[event.pk])
    fragment = client.get(console, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section id="console"') and "<html" not in fragment
    assert client.get(console).status_code == 302  # without htmx: the whole event page
    late = client.post(url, form_data(starts_at="2999-01-16T11:00"))
    assert late.status_code == 422 and "can no longer change" in late.content.decode()
    canceled = client.post(reverse("conferences:event-cancel", args=[event.pk]), follow=True)
    assert "can no longer be canceled" in canceled.content.decode()
    event.refresh_from_db()
    assert event.status == EventStatus.DIALING
    assert event.starts_at == datetime(2999, 1, 15, 16, 0, tzinfo=UTC)


def test_a_start_planned_to_the_second_stays_to_the_second_when_the_plan_is_edited(
    supervisor,
):
    """The API plans to the second; the page's box shows minutes unless the start has
    seconds, so saving another change must not cut the start to its minute."""
    client = client_for(supervisor)
    plan(client, starts_at="2999-01-15T09:30:45")
    event = ScheduledConference.objects.get()
    assert event.starts_at == datetime(2999, 1, 15, 14, 30, 45, tzinfo=UTC)
    url = reverse("conferences:event-detail", args=[event.pk])
    page = client.get(url).content.decode()
    start_box = re.search(r'<input type="datetime-local" name="starts_at"[^>]*>', page)
    assert start_box is not None
    assert 'value="2999-01-15T09:30:45"' in start_box.group()
    assert 'step="1"' in start_box.group()  # else the browser refuses the seconds shown
    assert "Tue Jan 15, 14:30:45 UTC" in page  # the summary above the form says so too

    unchanged_lists = {"host": "", "speaker": "", "listener": ""}
    saved = client.post(
        url, form_data(starts_at="2999-01-15T09:30:45", dial_lead_minutes="5", **unchanged_lists)
    )
    assert saved.status_code == 302
    event.refresh_from_db()
    assert event.starts_at == datetime(2999, 1, 15, 14, 30, 45, tzinfo=UTC)

    whole_minute = plan(client, friendly_name="weekly sync")
    assert whole_minute.status_code == 302
    page = client.get(whole_minute.url).content.decode()
    start_box = re.search(r'<input type="datetime-local" name="starts_at"[^>]*>', page)
    assert start_box is not None
    assert 'value="2999-01-15T09:30"' in start_box.group() and "step" not in start_box.group()


def test_a_canceled_plan_is_listed_as_canceled_and_is_never_due(supervisor):
    client = client_for(supervisor)
    plan(client)
    event = ScheduledConference.objects.get()
    answer = client.post(reverse("conferences:event-cancel", args=[event.pk]), follow=True)
    assert "nobody will be dialed" in answer.content.decode()
    event.refresh_from_db()
    assert (event.status, event.canceled_by) == (EventStatus.CANCELED, supervisor)
    assert dial_out.due_event_ids(event.starts_at + timedelta(days=1)) == []
    listing = client.get(reverse("conferences:event-list")).content.decode()
    assert "Nothing is scheduled." in listing and "Canceled" in listing


def test_operators_see_and_change_only_the_events_they_run(operator, supervisor):
    plan(client_for(supervisor))
    event = ScheduledConference.objects.get()
    theirs = client_for(operator)
    assert theirs.get(reverse("conferences:event-detail", args=[event.pk])).status_code == 404
    assert theirs.post(reverse("conferences:event-cancel", args=[event.pk])).status_code == 404
    assert "earnings call" not in theirs.get(reverse("conferences:event-list")).content.decode()
    with pytest.raises(PermissionDenied):
        planning.cancel_event(user=operator, event=event)
    nobody = make_user("nadia", None)
    assert (
        client_for(nobody).post(reverse("conferences:event-plan"), form_data()).status_code == 403
    )
    assert roles.ACTIONS_BY_CODENAME["plan_events"].roles == {roles.OPERATOR, roles.SUPERVISOR}


def test_an_event_whose_dial_out_never_ran_in_time_is_marked_missed_and_dials_nobody(
    supervisor, settings
):
    settings.EVENTS_MISSED_AFTER_SECONDS = 1800
    plan(client_for(supervisor))
    event = ScheduledConference.objects.get()
    assert dial_out.dial_due_events(event.starts_at + timedelta(minutes=29)) != []  # still due
    other = ScheduledConference.objects.get()
    # Its hosts are queued; the speakers wait for them to reach Twilio (no worker runs here).
    assert other.status == EventStatus.DIALING and other.run is not None

    plan(client_for(supervisor), friendly_name="late review")
    late = ScheduledConference.objects.get(conference__friendly_name="late review")
    reports = dial_out.dial_due_events(late.starts_at + timedelta(minutes=31))
    # Only the first event (still holding its speakers back) is looked at; the late one not.
    assert [report.event_id for report in reports] == [event.pk]
    late.refresh_from_db()
    assert late.status == EventStatus.MISSED and late.run is None
    assert not late.conference.dials.exists()
    entry = AuditEntry.objects.get(action="event-dial-out", outcome="failed")
    assert entry.detail["missed"] is True
    listing = client_for(supervisor).get(reverse("conferences:event-list")).content.decode()
    assert "Missed: not dialed in time" in listing
