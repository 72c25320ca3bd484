"""Dial all missing: through the pipeline, with progress, never anyone twice, cancelable."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from conferences.audit.trail import AuditAction
from conferences.live import actions as live_actions
from conferences.live import invite_import
from conferences.live.attendance import Attendance
from conferences.live.invite_list import invite_list, run_progress
from conferences.models import (
    AuditEntry,
    BulkDialRun,
    DialPreset,
    DialRequest,
    DialStatus,
    InviteeDial,
)
from tests.live.helpers import client_for, fast_account
from tests.support.dialing import CALLER_ID, creates, participants_in
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("live")]


def planned(operator, name: str, rows: list[str]):
    room = live_actions.open_conference(user=operator, friendly_name=name)
    added = invite_import.add_invitees(user=operator, conference=room, text="\n".join(rows))
    assert added.added == len(rows), [r.problems for r in added.preview.bad]
    return room


def press(client, room):
    url = reverse("conferences:conference-dial-all", args=[room.pk])
    return client.post(url, {"caller_id": CALLER_ID}, HTTP_HX_REQUEST="true")


def states(user, room) -> dict[str, str]:
    return {row.invitee.name: row.attendance.state for row in invite_list(user, room).rows}


def test_dial_all_missing_dials_everyone_once_with_machine_detection_and_shows_progress(
    workers, sandbox, operator
):
    fast_account()
    DialPreset.objects.create(owner=operator, name="short ring", values={"timeout": "20"})
    room = planned(
        operator,
        "all hands",
        [
            "+15005550006, Alice, alice",
            "+15005550020, Bob",
            "+15005552001, Carl, , short ring",
        ],
    )
    client = client_for(operator)
    answer = press(client, room).content.decode()
    assert "Dialing 3 invitees." in answer
    assert '<section id="invitees"' in answer and "<progress" in answer

    wait_for(lambda: set(states(operator, room).values()) == {Attendance.IN_CONFERENCE})
    sent = {entry["params"]["To"][0]: entry["params"] for entry in creates(sandbox)}
    assert len(creates(sandbox)) == 3
    assert {p["MachineDetection"][0] for p in sent.values()} == {"Enable"}
    assert sent["+15005550006"]["Label"] == ["alice"]
    assert sent["+15005552001"]["Timeout"] == ["20"]  # the invitee's preset
    run = BulkDialRun.objects.get()
    progress = run_progress(run)
    assert (progress.total, progress.waiting, progress.placed, progress.failed) == (3, 0, 3, 0)
    page = client.get(
        reverse("conferences:conference-invitees", args=[room.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert '<progress id="bulk-progress" max="3" value="3">' in page
    assert page.count('data-attendance="in-conference"') == 3
    assert AuditEntry.objects.filter(action=AuditAction.BULK_DIAL, dial__isnull=False).count() == 3

    again = press(client, room).content.decode()
    assert "Dialing 0 invitees; 3 already queued, ringing or in." in again
    assert len(creates(sandbox)) == 3


def test_two_operators_pressing_at_once_never_dial_anyone_twice(
    workers, sandbox, operator, supervisor
):
    fast_account()
    numbers = [f"+1500555{2000 + i:04d}" for i in range(1, 9)]  # ring i s, then stay
    room = planned(operator, "town hall", [f"{n}, Person {i}" for i, n in enumerate(numbers)])
    together = threading.Barrier(2)
    answers: list[int] = []

    def press_as(user) -> None:
        try:
            client = client_for(user)
            together.wait()
            answers.append(press(client, room).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=press_as, args=(u,)) for u in (operator, supervisor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [200, 200]
    assert DialRequest.objects.count() == len(numbers)
    for invitee in room.invitees.all():
        assert InviteeDial.objects.filter(invitee=invitee).count() == 1
    runs = list(BulkDialRun.objects.all())
    assert sum(run_progress(run).total for run in runs) == len(numbers)
    assert sum(run.skipped for run in runs) == len(numbers)
    wait_for(lambda: not DialRequest.objects.filter(call_sid="").exists(), timeout=30)
    for number in numbers:
        assert participants_in(sandbox, number) == 1


def test_cancel_stops_the_dials_not_started_and_leaves_placed_calls_alone(
    workers, sandbox, operator
):
    fast_account(calls_per_second=1)  # one call a second: most of the list waits its turn
    numbers = [f"+1500555{2000 + i:04d}" for i in range(1, 11)]
    room = planned(operator, "slow", [f"{n}, Person {i}" for i, n in enumerate(numbers)])
    client = client_for(operator)
    press(client, room)
    queued_page = client.get(
        reverse("conferences:conference-invitees", args=[room.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "expected <time" in queued_page  # queued invitees say when they should start
    run = BulkDialRun.objects.get()

    url = reverse("conferences:bulk-run-cancel", args=[room.pk, run.pk])
    answer = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "that had not started; calls already placed go on." in answer
    canceled = list(DialRequest.objects.filter(status=DialStatus.CANCELED))
    assert canceled, "at one call a second, some dials were still waiting"
    assert all(d.placed_at is None and "canceled by olivia" in d.failure_reason for d in canceled)
    for dial in canceled:
        assert AuditEntry.objects.filter(dial=dial, action=AuditAction.CANCEL).exists()

    others = DialRequest.objects.exclude(status=DialStatus.CANCELED)
    wait_for(lambda: not others.filter(call_sid="").exists(), timeout=30)
    assert len(creates(sandbox)) == others.count() == len(numbers) - len(canceled)
    progress = run_progress(BulkDialRun.objects.get())
    assert (progress.waiting, progress.canceled) == (0, len(canceled))
    assert list(states(operator, room).values()).count(Attendance.NOT_DIALED) == len(canceled)
