"""Lost callbacks: the sandbox drops them, the reconcile task asks the API for the truth.

Dials are placed by real Celery workers through the sandbox; the reconcile task runs in
this process (`.apply()`: the task's own code, eagerly) against the same sandbox.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from conferences.audit.trail import AuditAction
from conferences.callbacks import applier as callback_applier
from conferences.models import (
    AuditEntry,
    CallbackEvent,
    CallbackKind,
    CallbackTally,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
)
from conferences.operations import tasks as ops_tasks
from tests.ops.helpers import replay, sandbox_call_status
from tests.support.dialing import dial, refreshed
from tests.support.waiting import wait_for
from twilio_sandbox.faults import Faults

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]

# A person answers and hangs up after 20 call seconds (0.4 s at the sandbox's speed 50).
TALKS_FOR_20_SECONDS = "+15005551020"


def fields_that_matter(dial_request: DialRequest) -> dict[str, object]:
    dial_request.refresh_from_db()
    return {
        name: getattr(dial_request, name)
        for name in (
            "status",
            "call_sid",
            "answered_at",
            "answered_by",
            "ended_at",
            "call_duration_seconds",
            "end_reason",
            "error_code",
        )
    }


def settled(sandbox) -> bool:
    """Every callback the sandbox is still sending has arrived, and all are applied."""
    return (
        not sandbox.callbacks(status="pending") and not callback_applier.unapplied_events().exists()
    )


def place_and_lose_callbacks(workers, sandbox, operator, faults: dict) -> DialRequest:
    sandbox.set_faults(Faults.from_json(faults))
    workers.start()
    submitted = dial(operator, TALKS_FOR_20_SECONDS, conference=f"lost-{uuid.uuid4().hex[:8]}")
    call_sid = wait_for(lambda: refreshed(submitted).call_sid)
    wait_for(lambda: sandbox_call_status(sandbox, call_sid) == "completed", timeout=20)
    return refreshed(submitted)


def test_a_call_whose_callbacks_are_all_dropped_still_ends_completed_through_the_reconcile_task(
    workers, sandbox, operator, settings
):
    lost = place_and_lose_callbacks(
        workers,
        sandbox,
        operator,
        {"match": {"to": TALKS_FOR_20_SECONDS}, "callback_drop_rate": 1.0},
    )
    sent = sandbox.callbacks(call_sid=lost.call_sid, kind="call-status")
    assert sent
    assert {entry["status"] for entry in sent} == {"dropped"}
    assert lost.status == DialStatus.QUEUED  # all we know from Create Participant's answer

    settings.RECONCILE_AFTER_SECONDS = 0  # stale at once, instead of after ten minutes
    ops_tasks.reconcile_stale.apply()

    lost.refresh_from_db()
    assert lost.status == DialStatus.COMPLETED
    assert lost.answered_at is not None
    assert lost.ended_at is not None
    assert lost.ended_at >= lost.answered_at
    assert lost.call_duration_seconds == 20
    reconciled = CallbackEvent.objects.filter(dial=lost, kind=CallbackKind.RECONCILED)
    assert list(reconciled.order_by("pk").values_list("event", flat=True)) == [
        "in-progress",
        "completed",
    ]
    assert all(event.applied_at for event in reconciled)
    entry = AuditEntry.objects.get(action=AuditAction.RECONCILE, dial=lost)
    assert entry.actor is None
    assert entry.detail["trigger"] == "automatic"
    assert entry.detail["learned"] == ["in-progress", "completed"]


def test_a_late_callback_after_reconciliation_changes_nothing_and_duplicates_nothing(
    workers, sandbox, operator, settings
):
    lost = place_and_lose_callbacks(
        workers,
        sandbox,
        operator,
        {"match": {"to": TALKS_FOR_20_SECONDS}, "callback_drop_rate": 1.0},
    )
    # What was not dropped (the conference's own events) has arrived and been applied, so
    # both reconciliations below see the same, settled state.
    wait_for(lambda: settled(sandbox))
    settings.RECONCILE_AFTER_SECONDS = 0
    ops_tasks.reconcile_stale.apply()
    reconciled = fields_that_matter(lost)
    assert reconciled["status"] == DialStatus.COMPLETED
    # Only this call's status events: conference events of the call may still be arriving.
    call_events = CallbackEvent.objects.filter(call_sid=lost.call_sid).exclude(
        kind=CallbackKind.CONFERENCE
    )
    events_before = call_events.count()

    # The lost call-status callbacks arrive after all, out of order (newest first).
    late = sandbox.callbacks(call_sid=lost.call_sid, kind="call-status", status="dropped")
    assert [entry["params"]["CallStatus"][0] for entry in late] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [replay(entry) for entry in reversed(late)] == [204] * len(late)
    wait_for(lambda: not callback_applier.unapplied_events().exists())  # `callbacks` applies them
    assert fields_that_matter(lost) == reconciled
    assert call_events.count() == events_before + len(late)
    # The tally is written just after the event's own commit (see apply_pending_callbacks),
    # so it is waited for, not read at once.
    wait_for(lambda: CallbackTally.objects.filter(measure="out-of-order").exists())

    # Delivered again, they are duplicates: nothing stored, nothing moved.
    assert [replay(entry) for entry in late] == [204] * len(late)
    wait_for(lambda: not callback_applier.unapplied_events().exists())
    assert call_events.count() == events_before + len(late)
    duplicates = CallbackTally.objects.get(kind="call-status", measure="duplicate")
    assert duplicates.count == len(late)

    # Asking the API again learns nothing new, so writes nothing new: once every callback
    # the sandbox is still sending (the conference's) has arrived and been applied.
    wait_for(lambda: settled(sandbox))
    ops_tasks.reconcile_stale.apply()
    assert call_events.count() == events_before + len(late)
    assert fields_that_matter(lost) == reconciled
    assert CallbackEvent.objects.filter(kind=CallbackKind.RECONCILED).count() == 2


def test_a_conference_that_never_reported_its_end_is_completed_by_reconcile_now(
    workers, sandbox, operator, supervisor, client, settings
):
    # Every callback lost, the conference's own ones too.
    lost = place_and_lose_callbacks(workers, sandbox, operator, {"callback_drop_rate": 1.0})
    conference = Conference.objects.get(pk=lost.conference_id)
    assert conference.sid
    assert conference.status == ConferenceStatus.INIT

    client.force_login(supervisor)
    response = client.post(
        reverse("conferences:reconcile", args=["conference", conference.pk]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "conference-reconciled"
    assert b"conference-end" in response.content

    conference.refresh_from_db()
    assert conference.status == ConferenceStatus.COMPLETED
    assert conference.reason_ended == "last-participant-left"
    assert conference.ended_at is not None
    # Reconciling the conference asked about its live call as well.
    assert refreshed(lost).status == DialStatus.COMPLETED
    entry = AuditEntry.objects.get(action=AuditAction.RECONCILE, conference=conference, dial=None)
    assert entry.actor == supervisor
    assert entry.detail["trigger"] == "on request"
    assert "conference-end" in entry.detail["learned"]
    call_entry = AuditEntry.objects.get(action=AuditAction.RECONCILE, dial=lost)
    assert call_entry.detail["learned"] == ["in-progress", "completed"]
