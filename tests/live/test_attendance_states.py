"""Each invitee's state at a glance, from calls the sandbox plays: answered, busy, no answer,
voicemail, failed, dropped and left; machines removed; dropped invitees redialed, at most N
times."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conferences.audit.trail import AuditAction
from conferences.live import actions as live_actions
from conferences.live import invite_dialing, invite_import, sweeps
from conferences.live.attendance import Attendance
from conferences.live.invite_list import invite_list
from conferences.models import (
    AuditEntry,
    ConferenceControls,
    DialRequest,
    DialStatus,
    Invitee,
    InviteeDial,
)
from tests.live.helpers import BUSY, MACHINE, NO_ANSWER, STAYS, client_for, fast_account
from tests.support.dialing import CALLER_ID
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("live")]

DROPS = "+15005551003"  # answers, hangs up after 3 call seconds
LEAVES = "+15005551090"  # answers, hangs up after 90 call seconds
FAILS = "+15005550012"


def planned(operator, name: str, rows: list[str]):
    room = live_actions.open_conference(user=operator, friendly_name=name)
    invite_import.add_invitees(user=operator, conference=room, text="\n".join(rows))
    return room


def states(operator, room) -> dict[str, str]:
    return {row.invitee.name: row.attendance.state for row in invite_list(operator, room).rows}


def test_every_invitee_shows_one_state_told_from_the_calls(workers, operator):
    fast_account()
    room = planned(
        operator,
        "quarterly",
        [
            f"{STAYS}, Stays",
            f"{BUSY}, Busy",
            f"{NO_ANSWER}, Away",
            f"{MACHINE}, Machine",
            f"{DROPS}, Drops",
            f"{LEAVES}, Leaves",
            f"{FAILS}, Fails",
        ],
    )
    ConferenceControls.objects.create(conference=room, remove_voicemail=False)
    invite_dialing.dial_all_missing(user=operator, conference=room, caller_id=CALLER_ID)
    invite_import.add_invitees(
        user=operator, conference=room, text="+15005552005, Never dialed"
    )  # late

    expected = {
        "Stays": Attendance.IN_CONFERENCE,
        "Busy": Attendance.BUSY,
        "Away": Attendance.NO_ANSWER,
        "Machine": Attendance.VOICEMAIL,
        "Drops": Attendance.DROPPED,
        "Leaves": Attendance.LEFT,
        "Fails": Attendance.FAILED,
        "Never dialed": Attendance.NOT_DIALED,
    }
    wait_for(lambda: states(operator, room) == expected, timeout=20)
    rows = {row.invitee.name: row for row in invite_list(operator, room).rows}
    assert rows["Drops"].attendance.detail == "hung up after 3 s"
    assert rows["Drops"].redial_label == "Redial"
    assert rows["Leaves"].attendance.detail == "after 90 s"
    assert rows["Machine"].attendance.detail == "answered by an answering machine"
    page = client_for(operator).get(reverse("conferences:conference-detail", args=[room.pk]))
    assert 'data-attendance="dropped"' in page.content.decode()
    assert "Redial: Drops" in page.content.decode()


def test_a_dropped_invitee_is_redialed_in_one_click_and_a_second_click_dials_nobody(
    workers, operator
):
    fast_account()
    room = planned(operator, "one click", [f"{STAYS}, Host", f"{DROPS}, Drops"])
    invite_dialing.dial_all_missing(user=operator, conference=room, caller_id=CALLER_ID)
    wait_for(lambda: states(operator, room)["Drops"] == Attendance.DROPPED, timeout=20)
    dropped = Invitee.objects.get(name="Drops")
    url = reverse("conferences:invitee-dial", args=[room.pk, dropped.pk])
    client = client_for(operator)
    first = client.post(url, {"after_dial": dropped.last_dial_id}, HTTP_HX_REQUEST="true")
    second = client.post(url, {"after_dial": dropped.last_dial_id}, HTTP_HX_REQUEST="true")
    assert "Dialing Drops into one click." in first.content.decode()
    assert "Drops is already being dialed or is in the conference." in second.content.decode()
    links = InviteeDial.objects.filter(invitee=dropped).order_by("attempt")
    assert [(link.attempt, link.reason) for link in links] == [(1, "bulk"), (2, "redial")]
    assert links[1].dial.label == f"invite-{dropped.pk}-2"
    assert links[1].dial.conference_id == room.pk


def test_a_machine_is_never_bridged_in_silently_it_is_flagged_and_removed(workers, operator):
    fast_account()
    room = planned(operator, "machines", [f"{STAYS}, Host", f"{MACHINE}, Machine"])
    invite_dialing.dial_all_missing(user=operator, conference=room, caller_id=CALLER_ID)
    machine = Invitee.objects.get(name="Machine")

    def removed() -> bool:
        sweeps.sweep_live_conferences()  # what beat runs every few seconds
        return AuditEntry.objects.filter(action=AuditAction.REMOVE, dial__isnull=False).exists()

    wait_for(removed, timeout=20)
    machine.refresh_from_db()
    assert machine.last_dial_id is not None
    entry = AuditEntry.objects.get(action=AuditAction.REMOVE)
    assert entry.dial_id == machine.last_dial_id
    assert entry.actor is None and entry.outcome == "ok"
    assert entry.detail["reason"] == "voicemail"
    assert entry.detail["answered_by"] == "machine_start"
    wait_for(lambda: states(operator, room)["Machine"] == Attendance.VOICEMAIL)
    machine_dial = DialRequest.objects.filter(pk=machine.last_dial_id)
    wait_for(lambda: machine_dial.filter(left_at__isnull=False).exists())
    assert machine_dial.get().end_reason == "participant_updated_via_api"


def test_automatic_redial_brings_dropped_invitees_back_at_most_n_times(workers, operator):
    fast_account()
    room = planned(operator, "sticky", [f"{STAYS}, Host", "+15005551002, Flaky"])
    ConferenceControls.objects.create(
        conference=room, redial_dropped=True, redial_max=2, updated_by=operator
    )
    invite_dialing.dial_all_missing(user=operator, conference=room, caller_id=CALLER_ID)
    flaky = Invitee.objects.get(name="Flaky")

    def redialed_twice_and_dropped_again() -> bool:
        sweeps.sweep_live_conferences()
        flaky.refresh_from_db()
        dial = flaky.last_dial
        return flaky.auto_redials == 2 and dial is not None and dial.status == DialStatus.COMPLETED

    wait_for(redialed_twice_and_dropped_again, timeout=30, interval=0.1)
    for _ in range(3):
        assert sweeps.sweep_live_conferences().redialed == 0
    reasons = list(
        InviteeDial.objects.filter(invitee=flaky).order_by("attempt").values_list("reason")
    )
    assert reasons == [("bulk",), ("auto-redial",), ("auto-redial",)]
    assert states(operator, room)["Flaky"] == Attendance.DROPPED
    automatic = AuditEntry.objects.filter(dial__invitee_link__invitee=flaky, action="dial")
    assert [(e.actor, e.detail["automatic"]) for e in automatic] == [(None, True)] * 2
