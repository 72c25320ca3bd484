"""Conference and Call resources: fetch, list with filters and paging, update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.helpers import ACCOUNT_SID, AUTH_TOKEN, FROM, Receiver
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox

STAYS = "+15005550006"


def in_progress(client, conference_sid: str) -> bool:
    return client.conferences(conference_sid).fetch().status == "in-progress"


def test_conference_resource_has_twilio_fields(client) -> None:
    participant = client.conferences("fields").participants.create(
        from_=FROM, to=STAYS, region="ie1"
    )
    conference = client.conferences(participant.conference_sid).fetch()
    assert conference.sid == participant.conference_sid
    assert conference.account_sid == ACCOUNT_SID
    assert conference.friendly_name == "fields"
    assert conference.region == "ie1"
    assert conference.api_version == "2010-04-01"
    assert conference.status == "init"
    assert conference.reason_conference_ended is None
    assert conference.call_sid_ending_conference is None
    assert conference.subresource_uris["participants"].endswith(
        f"/Conferences/{conference.sid}/Participants.json"
    )
    assert conference.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference.sid}.json"
    assert conference.date_created.tzinfo is not None


def test_conference_list_filters_by_name_status_and_dates(client) -> None:
    open_one = client.conferences("alpha").participants.create(from_=FROM, to=STAYS)
    ended = client.conferences("beta").participants.create(from_=FROM, to=STAYS)
    client.conferences(ended.conference_sid).update(status="completed")
    today = datetime.now(UTC).date()
    conferences = client.conferences
    assert [c.sid for c in conferences.list(friendly_name="alpha")] == [open_one.conference_sid]
    assert [c.sid for c in conferences.list(status="completed")] == [ended.conference_sid]
    assert {c.sid for c in conferences.list(date_created=today)} == {
        open_one.conference_sid,
        ended.conference_sid,
    }
    assert len(conferences.list(date_created_after=today, date_created_before=today)) == 2
    assert conferences.list(date_created_after=today + timedelta(days=1)) == []
    assert conferences.list(date_updated_before=today - timedelta(days=1)) == []


def test_conference_date_filters_use_twilio_inequality_keys(sandbox: Sandbox, client) -> None:
    client.conferences("keys").participants.create(from_=FROM, to=STAYS)
    today = datetime.now(UTC).date().isoformat()
    url = f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences.json"
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    on_or_before = requests.get(f"{url}?DateCreated<={today}", auth=auth, timeout=5).json()
    on_or_after = requests.get(f"{url}?DateCreated>={today}", auth=auth, timeout=5).json()
    assert len(on_or_before["conferences"]) == len(on_or_after["conferences"]) == 1
    bad = requests.get(f"{url}?DateCreated=yesterday", auth=auth, timeout=5)
    assert bad.status_code == 400


def test_ending_a_conference_ends_all_its_calls(client, receiver: Receiver) -> None:
    first = client.conferences("end-it").participants.create(
        from_=FROM,
        to=STAYS,
        conference_status_callback=f"{receiver.url}/conference",
        conference_status_callback_event=["start", "end", "leave"],
    )
    second = client.conferences("end-it").participants.create(from_=FROM, to=STAYS)
    wait_for(lambda: in_progress(client, first.conference_sid), timeout=10, interval=0.01)
    wait_for(
        lambda: (
            len(client.conferences(first.conference_sid).participants.list()) == 2
            and all(
                p.status == "connected"
                for p in client.conferences(first.conference_sid).participants.list()
            )
        ),
        timeout=10,
        interval=0.01,
    )
    ended = client.conferences(first.conference_sid).update(status="completed")
    assert ended.status == "completed"
    assert ended.reason_conference_ended == "conference-ended-via-api"
    assert ended.call_sid_ending_conference is None
    for sid in (first.call_sid, second.call_sid):
        assert client.calls(sid).fetch().status == "completed"
    assert client.conferences(first.conference_sid).participants.list() == []
    events = receiver.wait("/conference", 4)
    assert [e.one("StatusCallbackEvent") for e in events] == [
        "conference-start",
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]
    assert {e.one("ReasonParticipantLeft") for e in events[1:3]} == {"conference_ended_via_api"}
    assert events[3].one("ReasonConferenceEnded") == "conference-ended-via-api"


def test_conference_announcement_ends_with_an_event(client, receiver: Receiver) -> None:
    participant = client.conferences("announce").participants.create(
        from_=FROM,
        to=STAYS,
        conference_status_callback=f"{receiver.url}/conference",
        conference_status_callback_event=["announcement"],
    )
    wait_for(lambda: in_progress(client, participant.conference_sid), timeout=10, interval=0.01)
    client.conferences(participant.conference_sid).update(
        announce_url="https://example.com/announce.xml", announce_method="GET"
    )
    (event,) = receiver.wait("/conference", 1)
    assert event.one("StatusCallbackEvent") == "announcement-end"
    assert "CallSid" not in event.params


def test_call_resource_has_twilio_fields(client) -> None:
    participant = client.conferences("call-fields").participants.create(
        from_="+15551234567", to="+15005551001"
    )
    wait_for(
        lambda: client.calls(participant.call_sid).fetch().status == "completed",
        timeout=10,
        interval=0.01,
    )
    call = client.calls(participant.call_sid).fetch()
    assert call.sid == participant.call_sid
    assert call.account_sid == ACCOUNT_SID
    assert call.direction == "outbound-api"
    assert call._from == "+15551234567"
    assert call.from_formatted == "(555) 123-4567"
    assert call.to == "+15005551001"
    assert call.duration == "1"
    assert call.start_time is not None and call.end_time >= call.start_time
    assert call.queue_time == "0"
    assert call.api_version == "2010-04-01"
    assert call.uri.endswith(f"/Calls/{call.sid}.json")


def test_call_list_filters_by_to_from_status_and_start_time(client) -> None:
    busy = client.conferences("calls-a").participants.create(from_=FROM, to="+15005550010")
    stays = client.conferences("calls-b").participants.create(from_="+15550000001", to=STAYS)
    wait_for(
        lambda: client.calls(busy.call_sid).fetch().status == "busy", timeout=10, interval=0.01
    )
    wait_for(
        lambda: client.calls(stays.call_sid).fetch().status == "in-progress",
        timeout=10,
        interval=0.01,
    )
    calls = client.calls
    assert [c.sid for c in calls.list(to="+15005550010")] == [busy.call_sid]
    assert [c.sid for c in calls.list(from_="+15550000001")] == [stays.call_sid]
    assert [c.sid for c in calls.list(status="busy")] == [busy.call_sid]
    now = datetime.now(UTC)
    # A busy call never started; only the answered call has a start time.
    assert [c.sid for c in calls.list(start_time=now.date())] == [stays.call_sid]
    assert [c.sid for c in calls.list(start_time_after=now - timedelta(minutes=1))] == [
        stays.call_sid
    ]
    assert calls.list(start_time_before=now - timedelta(minutes=1)) == []
    assert len(calls.list(page_size=1)) == 2


def test_call_update_completed_hangs_up_a_participant(client, receiver: Receiver) -> None:
    participant = client.conferences("hangup").participants.create(
        from_=FROM,
        to=STAYS,
        conference_status_callback=f"{receiver.url}/conference",
        conference_status_callback_event=["leave", "end"],
    )
    wait_for(
        lambda: client.calls(participant.call_sid).fetch().status == "in-progress",
        timeout=10,
        interval=0.01,
    )
    call = client.calls(participant.call_sid).update(status="completed")
    assert call.status == "completed"
    leave, end = receiver.wait("/conference", 2)
    assert leave.one("ReasonParticipantLeft") == "participant_updated_via_api"
    assert end.one("ReasonConferenceEnded") == "last-participant-kicked"
    with pytest.raises(TwilioRestException) as caught:
        client.calls(participant.call_sid).update(status="completed")
    assert (caught.value.status, caught.value.code) == (400, 21220)


def test_call_update_canceled_stops_a_ringing_call(client, receiver: Receiver) -> None:
    participant = client.conferences("cancel").participants.create(
        from_=FROM,
        to="+15005550011",
        status_callback=f"{receiver.url}/status",
        status_callback_event=["ringing", "completed"],
    )
    receiver.wait("/status", 1)
    assert client.calls(participant.call_sid).update(status="canceled").status == "canceled"
    _, canceled = receiver.wait("/status", 2)
    assert canceled.one("CallStatus") == "canceled"


def test_unknown_call_is_404(client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.calls("CA" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
