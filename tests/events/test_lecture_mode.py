"""Roles and lecture mode against real workers and the sandbox: each role joins with its
Create Participant settings, lecture mode mutes every listener (and a listener dialed later
joins muted), and the floor goes to one listener and back, each answer reported and audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from conferences.events import lecture, planning
from conferences.live import actions as live_actions
from conferences.live import invite_dialing
from conferences.live.attendance import Attendance
from conferences.models import AuditEntry, Conference, EventStatus, InviteeRole, ScheduledConference
from tests.events.helpers import beat_at, planned, states
from tests.live.helpers import client_for, fast_account
from tests.support.dialing import creates
from tests.support.sandbox import sandbox_client
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("events")]

LISTS: dict[str, str] = {
    InviteeRole.HOST: "+15005550006, Hana Host",
    InviteeRole.SPEAKER: "+15005550020, Sia Speaker",
    InviteeRole.LISTENER: "+15005552001, Lee Listener\n+15005552002, Lou Listener",
}


def muted_at_twilio(sandbox, conference: Conference, call_sid: str) -> bool:
    return bool(
        sandbox_client(sandbox).conferences(conference.sid).participants(call_sid).fetch().muted
    )


def sent_to(sandbox, number: str) -> list[dict[str, list[str]]]:
    return [entry["params"] for entry in creates(sandbox) if entry["params"]["To"] == [number]]


def test_roles_join_with_their_settings_and_lecture_mode_mutes_listeners_late_ones_too(
    workers, sandbox, supervisor
):
    fast_account()
    event = planned(supervisor, "tele town hall", lists=LISTS)
    client = client_for(supervisor)
    # The owner lets listeners join unmuted: lecture mode, not the role, must mute them.
    answer = client.post(
        reverse("conferences:event-role-settings", args=[event.pk, "listener"]),
        {"listener-start_conference_on_enter": "", "listener-beep": "false"},
    )
    assert answer.status_code == 302

    beat_at(event.dial_at)
    wait_for(lambda: states(supervisor, event) == {Attendance.IN_CONFERENCE: 4}, timeout=30)
    host = sent_to(sandbox, "+15005550006")[0]
    assert (host["StartConferenceOnEnter"], host["Muted"], host["Beep"]) == (
        ["true"],
        ["false"],
        ["true"],
    )
    speaker = sent_to(sandbox, "+15005550020")[0]
    assert speaker["StartConferenceOnEnter"] == ["false"]
    listener = sent_to(sandbox, "+15005552001")[0]
    assert (listener["Muted"], listener["Beep"]) == (["false"], ["false"])

    conference = wait_for(
        lambda: Conference.objects.filter(pk=event.conference_id, sid__isnull=False).first()
    )
    listeners = {
        invitee.name: invitee
        for invitee in conference.invitees.filter(role=InviteeRole.LISTENER).select_related(
            "last_dial"
        )
    }
    lee, lou = listeners["Lee Listener"], listeners["Lou Listener"]

    report = lecture.start_lecture(user=supervisor, conference=conference)
    assert report.on and len(report.answers) == 2 and report.failed == 0
    assert all("Twilio accepted it" in a.message for a in report.answers)
    for invitee in (lee, lou):
        assert muted_at_twilio(sandbox, conference, invitee.last_dial.call_sid)
    host_sid = conference.invitees.get(role=InviteeRole.HOST).last_dial.call_sid
    assert not muted_at_twilio(sandbox, conference, host_sid)  # only listeners

    # Lou drops out and is dialed again while the lecture runs: Lou joins muted.
    live_actions.act_on_participant(
        user=supervisor,
        conference=conference,
        call_sid=lou.last_dial.call_sid,
        command=live_actions.ParticipantCommand("remove"),
    )
    wait_for(
        lambda: states(supervisor, event).get(Attendance.IN_CONFERENCE) == 3,
        timeout=20,
    )
    late = invite_dialing.redial_invitee(user=supervisor, invitee=lou, after_dial_id=None)
    assert late is not None
    wait_for(lambda: len(sent_to(sandbox, "+15005552002")) == 2, timeout=20)
    assert sent_to(sandbox, "+15005552002")[1]["Muted"] == ["true"]
    late.refresh_from_db()
    wait_for(lambda: states(supervisor, event) == {Attendance.IN_CONFERENCE: 4}, timeout=20)

    # The floor: Lee speaks, then is muted again; each step says what Twilio answered.
    lee_sid = lee.last_dial.call_sid
    given = lecture.give_floor(user=supervisor, conference=conference, call_sid=lee_sid, give=True)
    assert given.ok and not muted_at_twilio(sandbox, conference, lee_sid)
    back = lecture.give_floor(user=supervisor, conference=conference, call_sid=lee_sid, give=False)
    assert back.ok and muted_at_twilio(sandbox, conference, lee_sid)
    floor_audit = list(
        AuditEntry.objects.filter(action="give-floor").values_list("detail", flat=True)
    )
    assert [d["give"] for d in floor_audit] == [True, False]
    lecture_audit = AuditEntry.objects.get(action="lecture-mode")
    assert [a["ok"] for a in lecture_audit.detail["answers"]] == [True, True]
    assert AuditEntry.objects.filter(action="mute", dial=lee.last_dial).count() == 2

    page = client.get(reverse("conferences:event-detail", args=[event.pk])).content.decode()
    assert 'data-lecture="on"' in page
    assert page.index('data-role="host"') < page.index('data-role="listener"')
    assert ScheduledConference.objects.get(pk=event.pk).status == EventStatus.DIALED


def test_the_floor_is_only_for_listeners_in_the_conference(workers, sandbox, supervisor):
    fast_account()
    event = planned(supervisor, "earnings call", lists=LISTS)
    beat_at(event.dial_at)
    wait_for(lambda: states(supervisor, event) == {Attendance.IN_CONFERENCE: 4}, timeout=30)
    conference = Conference.objects.get(pk=event.conference_id)
    speaker_dial = conference.invitees.get(role=InviteeRole.SPEAKER).last_dial
    assert speaker_dial is not None
    speaker_sid = speaker_dial.call_sid
    with pytest.raises(live_actions.LiveActionRefused, match="not in the conference"):
        lecture.give_floor(user=supervisor, conference=conference, call_sid=speaker_sid, give=True)
    assert not AuditEntry.objects.filter(action="give-floor").exists()
    with pytest.raises(PermissionDenied):
        planning.change_role_settings(
            user=supervisor.__class__.objects.create_user("nobody"),
            event=event,
            role="listener",
            values={},
        )
