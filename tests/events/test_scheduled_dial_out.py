"""A scheduled conference is dialed out at its time, through real workers and the sandbox:
hosts, then speakers, then listeners, nobody twice, and never once it was canceled.

Time moves forward by the task's `now` argument (what the beat leaves out), never by
waiting for the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conferences.events import dial_out, planning
from conferences.live import invite_dialing
from conferences.live.attendance import Attendance
from conferences.models import (
    ROLE_ORDER,
    AuditEntry,
    DialRequest,
    EventStatus,
    InviteeDial,
    InviteeRole,
    ScheduledConference,
)
from tests.events.helpers import beat_at, planned, role_of_number, states
from tests.live.helpers import fast_account
from tests.support.dialing import CALLER_ID, creates, participants_in
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("events")]


def test_a_scheduled_conference_is_dialed_at_its_time_hosts_then_speakers_then_listeners(
    workers, sandbox, supervisor
):
    fast_account(calls_per_second=10)
    event = planned(supervisor, "board call")
    assert event.conference.invitees.count() == 20

    assert dial_out.dial_due_events(event.dial_at - timedelta(seconds=1)) == []  # not yet due
    assert ScheduledConference.objects.get(pk=event.pk).status == EventStatus.SCHEDULED
    assert not DialRequest.objects.exists()

    beat_at(event.dial_at)
    wait_for(
        lambda: ScheduledConference.objects.get(pk=event.pk).status == EventStatus.DIALED,
        timeout=30,
    )
    wait_for(lambda: states(supervisor, event) == {Attendance.IN_CONFERENCE: 20}, timeout=60)
    roles = role_of_number(event)
    queued = [
        roles[n] for n in DialRequest.objects.order_by("pk").values_list("to_number", flat=True)
    ]
    sent = [roles[entry["params"]["To"][0]] for entry in creates(sandbox)]
    assert len(sent) == 20
    for seen in (queued, sent):  # the pipeline's queue, and what reached Twilio
        assert seen == sorted(seen, key=ROLE_ORDER.index), seen

    # The beat comes again (and again): nobody is dialed twice.
    beat_at(event.starts_at + timedelta(minutes=1))
    beat_at(event.starts_at + timedelta(minutes=2))
    wait_for(lambda: AuditEntry.objects.filter(action="event-dial-out").count() == 1, timeout=10)
    assert InviteeDial.objects.count() == 20
    for number in roles:
        assert participants_in(sandbox, number) == 1


def test_a_canceled_conference_dials_nobody(workers, sandbox, supervisor):
    fast_account()
    event = planned(supervisor, "canceled town hall")
    planning.cancel_event(user=supervisor, event=event)
    # Due at the same time, not canceled: once it is dialed, the beat has been and gone.
    control = planned(supervisor, "weekly sync", lists={InviteeRole.HOST: "+15005550006, Cleo"})

    beat_at(event.starts_at + timedelta(minutes=1))
    wait_for(
        lambda: ScheduledConference.objects.get(pk=control.pk).status == EventStatus.DIALED,
        timeout=30,
    )
    wait_for(lambda: creates(sandbox), timeout=30)
    assert [entry["params"]["To"] for entry in creates(sandbox)] == [["+15005550006"]]
    assert not DialRequest.objects.filter(conference=event.conference).exists()
    with pytest.raises(planning.EventRefused):
        planning.edit_event(
            user=supervisor,
            event=control,
            plan=planning.EventPlan(
                friendly_name="weekly sync",
                starts_at=timezone.now() + timedelta(hours=1),
                time_zone="UTC",
                dial_lead_seconds=0,
                caller_id=CALLER_ID,
            ),
        )
    event.refresh_from_db()
    assert event.status == EventStatus.CANCELED and event.run is None
    assert not InviteeDial.objects.filter(invitee__conference=event.conference).exists()


def test_a_dial_out_that_died_half_way_is_finished_without_dialing_anyone_twice(
    workers, sandbox, supervisor
):
    fast_account()
    event = planned(supervisor, "incident bridge")
    moment = event.dial_at
    # A worker claimed it and dialed the hosts, then died: its claim lapses.
    assert dial_out.claim_event(event.pk, moment)
    assert not dial_out.claim_event(event.pk, moment)  # held: nobody else takes it
    hosts = event.conference.invitees.filter(role=InviteeRole.HOST)
    run = dial_out.run_for(ScheduledConference.objects.get(pk=event.pk), moment)
    for host in hosts:
        invite_dialing.dial_invitee(
            operator=supervisor,
            invitee_id=host.pk,
            reason=InviteeDial.Reason.BULK,
            caller_id=CALLER_ID,
            run=run,
        )
    later = moment + timedelta(minutes=5)  # past the claim's lease
    beat_at(later)
    wait_for(
        lambda: ScheduledConference.objects.get(pk=event.pk).status == EventStatus.DIALED,
        timeout=30,
    )
    wait_for(lambda: len(creates(sandbox)) == 20, timeout=30)
    assert InviteeDial.objects.count() == 20
    assert set(InviteeDial.objects.values_list("run", flat=True)) == {run.pk}
    for number in role_of_number(event):
        assert participants_in(sandbox, number) == 1
