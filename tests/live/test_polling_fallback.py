"""A conference the app did not start sends its callbacks elsewhere (the first participant's
settings win): the roster falls back to polling Twilio's participant list, and says so."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from twilio.rest import Client as TwilioClient

from conferences.live.roster import Stage
from conferences.models import AuditEntry, CallbackEvent, CallbackKind, Conference, DialStatus
from tests.live.helpers import STAYS, act, client_for, fast_account, joined, roster_of
from tests.support.dialing import CALLER_ID, dial, refreshed
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("live")]


def someone_else_starts(sandbox, name: str) -> str:
    """Another system opens the conference: its first participant sets no callbacks for us."""
    twilio = TwilioClient(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    twilio.api.base_url = sandbox.url
    host = twilio.conferences(name).participants.create(from_=CALLER_ID, to=STAYS, label="host")
    return host.call_sid


def test_a_conference_started_elsewhere_is_polled_and_its_controls_still_work(
    workers, sandbox, operator
):
    fast_account()
    host_call = someone_else_starts(sandbox, "vendor bridge")
    ours = dial(operator, "+15005550020", conference="vendor bridge")
    # Its call-status callbacks reach us (they are per call); no participant-join does.
    wait_for(lambda: refreshed(ours).status == DialStatus.IN_PROGRESS)
    conference = Conference.objects.get(friendly_name="vendor bridge")
    assert conference.sid
    assert not CallbackEvent.objects.filter(kind=CallbackKind.CONFERENCE).exists()

    roster = wait_for(lambda: (r := roster_of(operator, conference)).polling and r, timeout=10)
    by_call = {entry.call_sid: entry for entry in roster.now}
    assert set(by_call) == {host_call, ours.call_sid}
    assert by_call[host_call].who == "host" and not by_call[host_call].ours
    assert by_call[ours.call_sid].stage == Stage.JOINED
    client = client_for(operator)
    page = client.get(
        reverse("conferences:conference-roster", args=[conference.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "started outside this app" in page
    assert "not dialed here" in page

    act(client, conference, host_call, action="mute")
    wait_for(lambda: getattr(roster_of(operator, conference).entry(host_call), "muted", False))
    entry = AuditEntry.objects.get(action="mute")
    assert (entry.conference_id, entry.dial_id, entry.target_id) == (conference.pk, None, host_call)

    act(client, conference, host_call, action="remove")
    wait_for(lambda: roster_of(operator, conference).entry(host_call) is None)
    act(client, conference, ours.call_sid, action="remove")
    # The last participant was removed: Twilio ended the conference, the roster sees it.
    wait_for(lambda: not roster_of(operator, conference).live)
    url = reverse("conferences:conference-roster", args=[conference.pk])
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 286


def test_an_operator_can_say_a_conferences_callbacks_go_elsewhere(workers, sandbox, operator):
    fast_account()
    joined(operator, STAYS, "flagged")
    conference = Conference.objects.get(friendly_name="flagged")
    assert not roster_of(operator, conference).polling  # our callbacks arrive
    client_for(operator).post(
        reverse("conferences:conference-settings", args=[conference.pk]),
        {"redial_max": "2", "dropped_within_seconds": "60", "callbacks_elsewhere": "true"},
    )
    assert roster_of(operator, conference).polling
