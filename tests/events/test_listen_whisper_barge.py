"""Listen, whisper, barge and leave from the operator's own phone, through real workers and
the sandbox: one call created once, then updates of that one call, then hung up; marked on
the roster and left out of attendance."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from conferences.events import monitoring, selectors
from conferences.events import summary as event_summary
from conferences.live import roster as live_roster
from conferences.live.actions import LiveActionRefused
from conferences.live.attendance import Attendance
from conferences.models import (
    AuditEntry,
    Conference,
    DialStatus,
    InviteeRole,
    MonitorMode,
    OperatorLeg,
    ScheduledConference,
)
from tests.events.helpers import beat_at, planned, states
from tests.live.helpers import client_for, fast_account, roster_html
from tests.support.dialing import creates
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("events")]

OWN_PHONE = "+15005550020"  # answers and stays
LISTS: dict[str, str] = {
    InviteeRole.HOST: "+15005550006, Hana Host",
    InviteeRole.LISTENER: "+15005552001, Lee Listener",
}


def participant_updates(sandbox, call_sid: str) -> list[dict[str, list[str]]]:
    return [
        entry["params"]
        for entry in sandbox.requests()
        if entry["method"] == "POST" and entry["path"].endswith(f"/Participants/{call_sid}.json")
    ]


def test_one_leg_listens_whispers_barges_and_leaves_as_updates_of_one_call(
    workers, sandbox, supervisor, operator
):
    fast_account()
    event = planned(supervisor, "all hands", lists=LISTS)
    beat_at(event.dial_at)
    wait_for(lambda: states(supervisor, event) == {Attendance.IN_CONFERENCE: 2}, timeout=30)
    conference = Conference.objects.get(pk=event.conference_id)
    with pytest.raises(LiveActionRefused, match="own phone"):
        monitoring.monitor(user=supervisor, conference=conference, mode=MonitorMode.LISTEN)
    client = client_for(supervisor)
    saved = client.post(reverse("conferences:own-phone"), {"address": "(500) 555-0020"})
    assert saved.status_code == 302
    bad = client.post(reverse("conferences:own-phone"), {"address": "call me"})
    assert bad.status_code == 422 and "is not a phone number" in bad.content.decode()

    listen = client.post(
        reverse("conferences:conference-monitor", args=[conference.pk]), {"mode": "listen"}
    )
    assert listen.status_code == 302
    leg = OperatorLeg.objects.get()
    wait_for(
        lambda: OperatorLeg.objects.filter(
            pk=leg.pk, dial__status=DialStatus.IN_PROGRESS, dial__joined_at__isnull=False
        ).exists(),
        timeout=20,
    )
    leg.refresh_from_db()
    sid = leg.dial.call_sid
    # The conference's own page marks the leg as the operator's, by name, and does not
    # count it among the participants.
    on_the_page = live_roster.roster(supervisor, conference)
    own = on_the_page.entry(sid)
    assert own is not None and own.operator_mode == "Listening"
    assert own.who == f"{supervisor.username} (operator)" and OWN_PHONE not in own.who
    assert on_the_page.summary == (
        "Participants: 2 in the conference, 1 operator monitoring, 1 muted."  # the listener
    )
    assert "phone: listening</span>" in roster_html(client, conference)
    first = [e["params"] for e in creates(sandbox) if e["params"]["To"] == [OWN_PHONE]]
    assert len(first) == 1 and first[0]["Muted"] == ["true"]

    host_sid = conference.invitees.get(role=InviteeRole.HOST).last_dial.call_sid  # type: ignore[union-attr]
    steps = [
        (MonitorMode.WHISPER, host_sid),
        (MonitorMode.BARGE, ""),
        (MonitorMode.LISTEN, ""),  # back to listening: the same call, muted again
    ]
    for mode, target in steps:
        result = monitoring.monitor(
            user=supervisor, conference=conference, mode=mode, target=target
        )
        assert result.ok, result.message
    updates = participant_updates(sandbox, sid)
    assert [(u.get("Coaching"), u.get("CallSidToCoach"), u.get("Muted")) for u in updates] == [
        (["true"], [host_sid], ["false"]),
        (["false"], None, ["false"]),
        (["false"], None, ["true"]),
    ]
    roster = selectors.console(supervisor, ScheduledConference.objects.get(pk=event.pk))
    operator_group = next(g for g in roster.groups if g.role == "operator")
    assert [entry.call_sid for entry in operator_group.entries] == [sid]

    # An operator who does not run this conference may not listen in.
    with pytest.raises(PermissionDenied):
        monitoring.monitor(user=operator, conference=conference, mode=MonitorMode.LISTEN)

    left = monitoring.monitor(user=supervisor, conference=conference, mode=MonitorMode.LEFT)
    assert left.ok
    assert any(
        entry["method"] == "DELETE" and entry["path"].endswith(f"/Participants/{sid}.json")
        for entry in sandbox.requests()
    )
    # One call to the operator's phone from start to end.
    assert len([e for e in creates(sandbox) if e["params"]["To"] == [OWN_PHONE]]) == 1
    modes = [e.detail["mode"] for e in AuditEntry.objects.filter(action="monitor").order_by("pk")]
    assert modes == ["listen", "whisper", "barge", "listen", "left"]

    summary = event_summary.conference_summary(supervisor, conference)
    assert summary.peak == 2  # the host and the listener; the operator's leg is not attendance
    assert {row.invitee.name for row in summary.invitees} == {"Hana Host", "Lee Listener"}
