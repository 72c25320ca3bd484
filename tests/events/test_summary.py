"""The summary after the call, from a real dial-out through workers and the sandbox: its
numbers agree with what the sandbox itself logged, and the attendance exports as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from conferences.events import summary as event_summary
from conferences.live import actions as live_actions
from conferences.live.attendance import Attendance
from conferences.models import AuditEntry, Conference, ConferenceStatus, InviteeRole
from tests.events.helpers import beat_at, planned, states
from tests.live.helpers import client_for, fast_account
from tests.support.dialing import creates
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("events")]

LISTS: dict[str, str] = {
    InviteeRole.HOST: "+15005550006, Hana Host",
    InviteeRole.SPEAKER: "+15005551050, Sid Short, , \n+15005550020, =Sia Speaker",
    InviteeRole.LISTENER: "+15005550010, Bea Busy\n+15005552002, Lou Listener",
}


def peak_in_sandbox_log(sandbox, conference_sid: str) -> int:
    """The most participants at once, from the conference callbacks the sandbox sent (a
    busy callee's leave comes without a join: it changes nobody's presence)."""
    events = [
        entry["params"]
        for entry in sandbox.callbacks()
        if entry["params"].get("ConferenceSid") == [conference_sid]
        and entry["params"].get("StatusCallbackEvent", [""])[0].startswith("participant-")
    ]
    events.sort(key=lambda params: int(params["SequenceNumber"][0]))
    inside: set[str] = set()
    peak = 0
    for params in events:
        kind, call_sid = params["StatusCallbackEvent"][0], params["CallSid"][0]
        if kind == "participant-join":
            inside.add(call_sid)
        elif kind == "participant-leave":
            inside.discard(call_sid)
        peak = max(peak, len(inside))
    return peak


def test_the_summary_agrees_with_the_sandbox_and_exports_attendance(workers, sandbox, supervisor):
    fast_account()
    event = planned(supervisor, "quarterly review", lists=LISTS)
    beat_at(event.dial_at)
    # Sid hangs up after 50 s (1 s at the sandbox's speed), Bea is busy.
    wait_for(
        lambda: (
            states(supervisor, event)
            == {Attendance.IN_CONFERENCE: 3, Attendance.BUSY: 1, Attendance.DROPPED: 1}
            or states(supervisor, event)
            == {Attendance.IN_CONFERENCE: 3, Attendance.BUSY: 1, Attendance.LEFT: 1}
        ),
        timeout=30,
    )
    conference = Conference.objects.get(pk=event.conference_id)
    live_actions.end_conference(user=supervisor, conference=conference)
    wait_for(
        lambda: Conference.objects.filter(
            pk=conference.pk, status=ConferenceStatus.COMPLETED, ended_at__isnull=False
        ).exists(),
        timeout=20,
    )
    wait_for(lambda: states(supervisor, event).get(Attendance.IN_CONFERENCE) is None, timeout=20)
    conference.refresh_from_db()

    summary = event_summary.conference_summary(supervisor, conference)
    assert conference.sid
    assert summary.peak == peak_in_sandbox_log(sandbox, conference.sid) >= 3
    assert summary.attempts == len(creates(sandbox)) == 5
    joined_in_sandbox = {
        entry["params"]["CallSid"][0]
        for entry in sandbox.callbacks()
        if entry["params"].get("StatusCallbackEvent") == ["participant-join"]
    }
    assert summary.joined == len(joined_in_sandbox) == 4
    assert summary.duration is not None and summary.duration.total_seconds() > 0
    assert "sam ended it from this page" in summary.ended_by
    rows = {row.invitee.name: row for row in summary.invitees}
    assert rows["Bea Busy"].how_it_ended.state == Attendance.BUSY and not rows["Bea Busy"].joined
    assert rows["Hana Host"].how_it_ended.state == Attendance.LEFT
    assert rows["Hana Host"].time_in is not None

    client = client_for(supervisor)
    page = client.get(reverse("conferences:conference-summary", args=[conference.pk]))
    html = page.content.decode()
    assert f'data-summary="peak">{summary.peak}<' in html
    assert 'data-summary="joined">4 of 5<' in html
    export = client.get(reverse("conferences:attendance-export", args=[conference.pk]))
    text = export.getvalue().decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [row["name"] for row in table][:2] == ["Hana Host", "Sid Short"]
    assert {row["name"] for row in table} >= {"'=Sia Speaker"}  # escaped like the history
    bea = next(row for row in table if row["name"] == "Bea Busy")
    assert (bea["joined"], bea["how_it_ended"], bea["dial_attempts"]) == ("no", "busy", "1")
    assert AuditEntry.objects.filter(action="export", conference=conference).count() == 1
