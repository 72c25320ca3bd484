"""Participants: create, fetch, update, delete and list through the real twilio SDK."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest.api.v2010.account.conference.participant import ParticipantInstance

from tests.sandbox.helpers import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM,
    OTHER_ACCOUNT_SID,
    OTHER_AUTH_TOKEN,
    make_client,
)
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox

STAYS = "+15005550006"
RFC2822 = r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$"
SDK_FIELDS = {
    "account_sid",
    "call_sid",
    "label",
    "call_sid_to_coach",
    "coaching",
    "conference_sid",
    "date_created",
    "date_updated",
    "end_conference_on_exit",
    "muted",
    "hold",
    "start_conference_on_enter",
    "status",
    "queue_time",
    "uri",
}


def connected(client, conference_sid: str, call_sid: str) -> bool:
    return client.conferences(conference_sid).participants(call_sid).fetch().status == "connected"


def test_create_answers_201_with_every_field_twilio_returns(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/Sales%20Room/Participants.json",
        data={"From": FROM, "To": STAYS, "Label": "customer"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=5,
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == SDK_FIELDS
    assert body["account_sid"] == ACCOUNT_SID
    assert body["call_sid"].startswith("CA") and len(body["call_sid"]) == 34
    assert body["conference_sid"].startswith("CF") and len(body["conference_sid"]) == 34
    assert body["label"] == "customer"
    assert body["status"] == "queued"
    assert body["queue_time"] == "0"
    assert body["muted"] is False and body["hold"] is False and body["coaching"] is False
    assert body["start_conference_on_enter"] is True
    assert body["end_conference_on_exit"] is False
    assert body["call_sid_to_coach"] is None
    assert body["uri"] == (
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{body['conference_sid']}"
        f"/Participants/{body['call_sid']}.json"
    )
    for key in ("date_created", "date_updated"):
        assert re.match(RFC2822, body[key])


def test_sdk_instance_carries_the_fields_it_declares(client) -> None:
    participant = client.conferences("sdk-fields").participants.create(from_=FROM, to=STAYS)
    assert isinstance(participant, ParticipantInstance)
    assert participant.date_created is not None and participant.date_created.tzinfo is not None
    assert participant.queue_time == "0"
    assert participant.status == "queued"


def test_friendly_name_creates_the_conference_on_first_join(client) -> None:
    first = client.conferences("Morning Standup").participants.create(from_=FROM, to=STAYS)
    second = client.conferences("Morning Standup").participants.create(from_=FROM, to=STAYS)
    assert first.conference_sid == second.conference_sid
    conference = client.conferences(first.conference_sid).fetch()
    assert conference.friendly_name == "Morning Standup"
    wait_for(
        lambda: client.conferences(first.conference_sid).fetch().status == "in-progress",
        timeout=10,
        interval=0.01,
    )


def test_completed_friendly_name_starts_a_new_conference(client) -> None:
    first = client.conferences("recurring").participants.create(from_=FROM, to=STAYS)
    client.conferences(first.conference_sid).update(status="completed")
    second = client.conferences("recurring").participants.create(from_=FROM, to=STAYS)
    assert second.conference_sid != first.conference_sid
    names = {c.sid for c in client.conferences.list(friendly_name="recurring")}
    assert names == {first.conference_sid, second.conference_sid}


def test_participant_is_fetched_by_call_sid_and_by_url_encoded_label(client) -> None:
    created = client.conferences("labels").participants.create(
        from_=FROM, to=STAYS, label="Jane Doe #1"
    )
    by_sid = client.conferences(created.conference_sid).participants(created.call_sid).fetch()
    by_label = (
        client.conferences(created.conference_sid)
        .participants(quote("Jane Doe #1", safe=""))
        .fetch()
    )
    assert by_sid.call_sid == by_label.call_sid == created.call_sid
    assert by_label.label == "Jane Doe #1"
    assert by_sid.queue_time is None


def test_update_mutes_and_holds_by_label(client) -> None:
    created = client.conferences("updates").participants.create(from_=FROM, to=STAYS, label="a")
    wait_for(
        lambda: connected(client, created.conference_sid, created.call_sid),
        timeout=10,
        interval=0.01,
    )
    updated = (
        client.conferences(created.conference_sid)
        .participants("a")
        .update(muted=True, hold=True, hold_url="https://example.com/hold.mp3", hold_method="GET")
    )
    assert updated.muted is True and updated.hold is True
    listed = client.conferences(created.conference_sid).participants.list(muted=True)
    assert [p.call_sid for p in listed] == [created.call_sid]


def test_delete_answers_204_and_the_participant_is_gone(client) -> None:
    created = client.conferences("kick").participants.create(from_=FROM, to=STAYS)
    wait_for(
        lambda: connected(client, created.conference_sid, created.call_sid),
        timeout=10,
        interval=0.01,
    )
    assert client.conferences(created.conference_sid).participants(created.call_sid).delete()
    with pytest.raises(TwilioRestException) as caught:
        client.conferences(created.conference_sid).participants(created.call_sid).fetch()
    assert caught.value.status == 404 and caught.value.code == 20404
    assert client.calls(created.call_sid).fetch().status == "completed"


def test_list_follows_next_page_uri_across_pages(client) -> None:
    first = client.conferences("paging").participants.create(from_=FROM, to=STAYS)
    sids = {first.call_sid}
    for _ in range(4):
        sids.add(client.conferences("paging").participants.create(from_=FROM, to=STAYS).call_sid)
    participants = client.conferences(first.conference_sid).participants
    page = participants.page(page_size=2)
    assert len(list(page)) == 2
    assert page.next_page_url is not None
    assert {p.call_sid for p in participants.list(page_size=2)} == sids
    assert len(participants.list(limit=3, page_size=2)) == 3


def test_list_envelope_has_twilio_paging_keys(sandbox: Sandbox, client) -> None:
    created = client.conferences("envelope").participants.create(from_=FROM, to=STAYS)
    response = requests.get(
        f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/"
        f"{created.conference_sid}/Participants.json",
        params={"Muted": "false", "PageSize": "1"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=5,
    )
    body = response.json()
    assert set(body) == {
        "participants",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "page",
        "page_size",
        "start",
        "end",
        "uri",
    }
    assert body["page"] == 0 and body["page_size"] == 1 and body["start"] == 0
    assert body["end"] == 0
    assert body["next_page_uri"] is None and body["previous_page_uri"] is None
    assert body["first_page_uri"].endswith("Participants.json?Muted=false&PageSize=1&Page=0")


def test_page_size_above_1000_is_refused(client) -> None:
    created = client.conferences("big-page").participants.create(from_=FROM, to=STAYS)
    # The SDK reports a refused page as a plain TwilioException carrying the response.
    with pytest.raises(TwilioException) as caught:
        client.conferences(created.conference_sid).participants.page(page_size=1001)
    assert "PageSize must be between 1 and 1000" in str(caught.value)


def test_list_filters_hold_and_coaching(client) -> None:
    agent = client.conferences("filters").participants.create(from_=FROM, to=STAYS)
    wait_for(
        lambda: connected(client, agent.conference_sid, agent.call_sid), timeout=10, interval=0.01
    )
    coach = client.conferences(agent.conference_sid).participants.create(
        from_=FROM, to=STAYS, coaching=True, call_sid_to_coach=agent.call_sid
    )
    client.conferences(agent.conference_sid).participants(agent.call_sid).update(hold=True)
    participants = client.conferences(agent.conference_sid).participants
    assert [p.call_sid for p in participants.list(hold=True)] == [agent.call_sid]
    assert [p.call_sid for p in participants.list(coaching=True)] == [coach.call_sid]
    assert [p.call_sid for p in participants.list(coaching=False)] == [agent.call_sid]


def test_unknown_parameters_are_ignored(sandbox: Sandbox) -> None:
    response = requests.post(
        f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/extra/Participants.json",
        data={"From": FROM, "To": STAYS, "Trim": "do-not-trim", "NoSuchParameter": "x"},
        auth=(ACCOUNT_SID, AUTH_TOKEN),
        timeout=5,
    )
    assert response.status_code == 201


def test_unknown_conference_sid_is_404_20404(client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.conferences("CF" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        client.conferences("CF" + "0" * 32).participants.create(from_=FROM, to=STAYS)
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_participant_of_another_account_is_not_visible(sandbox: Sandbox, client) -> None:
    created = client.conferences("private").participants.create(from_=FROM, to=STAYS)
    other = make_client(sandbox, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)
    with pytest.raises(TwilioRestException) as caught:
        other.conferences(created.conference_sid).fetch()
    assert caught.value.status == 404
