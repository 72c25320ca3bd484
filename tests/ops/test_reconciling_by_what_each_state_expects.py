"""Each state gets its truth as soon as its expected next event is overdue (issue 19).

Real Celery workers place the dials through the sandbox, which drops the callbacks; some
dropped ones are then delivered after all (`replay`), so our record stands in exactly the
state under test. The sweep runs in this process, with every deadline but the one under
test pushed an hour away (RECONCILE_AFTER_SECONDS too), so only that state's rule can ask.
Time moves by small deadlines, by polling with a deadline, or by handing the sweep a later
`now` (a ring Timeout is at least 5 s); never by sleeping.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from conferences.callbacks import applier as callback_applier
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
)
from conferences.operations import reconcile
from conferences.operations.reconcile import SweepReport
from tests.ops.helpers import parse_prometheus, replay, sample, sandbox_call_status
from tests.support.dialing import dial, refreshed
from tests.support.sandbox import sandbox_client
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox
from twilio_sandbox.faults import Faults

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]

# Sandbox fates (docs/sandbox.md), at its speed of 50: 20 call seconds are 0.4 s.
TALKS_FOR_20_SECONDS = "+15005551020"
RINGS_500_SECONDS = "+15005552500"
NEVER_ANSWERS = "+15005550011"
STAYS = "+15005550006"
STAYS_TOO = "+15005550020"
AN_HOUR = 3600
REQUESTS_METRIC = "dialin_reconcile_api_requests_total"
DEADLINES = (
    "RECONCILE_DIALING_AFTER_SECONDS",
    "RECONCILE_RINGING_MARGIN_SECONDS",
    "RECONCILE_LIVE_EVERY_SECONDS",
    "RECONCILE_LEAVE_AFTER_SECONDS",
    "RECONCILE_CONFERENCE_END_AFTER_SECONDS",
)


def only_this_deadline(settings: Any, name: str, seconds: float) -> None:
    for each in DEADLINES:
        setattr(settings, each, AN_HOUR)
    settings.RECONCILE_AFTER_SECONDS = AN_HOUR
    setattr(settings, name, seconds)


def sweep_until(condition: Callable[[SweepReport], bool]) -> tuple[datetime, SweepReport]:
    """Sweep (as beat would, only more often) until one sweep's report meets `condition`;
    that sweep's time and report."""

    def attempt() -> tuple[datetime, SweepReport] | None:
        now = timezone.now()
        report = reconcile.reconcile_stale(now=now)
        return (now, report) if condition(report) else None

    return wait_for(attempt, interval=0.2)


def learned_something(report: SweepReport) -> bool:
    return report.learned > 0


def reconciled_events(dial_request: DialRequest) -> list[str]:
    events = CallbackEvent.objects.filter(dial=dial_request, kind=CallbackKind.RECONCILED)
    return list(events.order_by("pk").values_list("event", flat=True))


def all_applied() -> bool:
    return not callback_applier.unapplied_events().exists()


def deliver_all_but(sandbox: Sandbox, call_sid: str, lost: set[str]) -> None:
    """Deliver the call's dropped callbacks after all, in order, except the `lost` events;
    wait until the applier has applied them."""
    dropped = sandbox.callbacks(call_sid=call_sid, status="dropped")
    delivered = [entry for entry in dropped if entry["event"] not in lost]
    assert len(delivered) < len(dropped), "the lost events were never sent"
    assert [replay(entry) for entry in delivered] == [204] * len(delivered)
    wait_for(all_applied)


def place_with_callbacks_dropped(
    workers: Any,
    sandbox: Sandbox,
    operator: Any,
    to: str,
    *,
    all_of_them: bool = False,
    **params: str,
) -> DialRequest:
    """Dial `to` with every callback about its call dropped (`all_of_them`: the
    conference's own too); returns the dial once its CallSid is stored."""
    faults: dict[str, Any] = {"callback_drop_rate": 1.0}
    if not all_of_them:
        faults["match"] = {"to": to}
    sandbox.set_faults(Faults.from_json(faults))
    workers.start()
    submitted = dial(operator, to, conference=f"states-{uuid.uuid4().hex[:8]}", **params)
    wait_for(lambda: refreshed(submitted).call_sid)
    return refreshed(submitted)


def test_a_call_stuck_queued_is_asked_about_once_its_progress_is_overdue(
    workers, sandbox, operator, settings, client
):
    only_this_deadline(settings, "RECONCILE_DIALING_AFTER_SECONDS", 0.5)
    stuck = place_with_callbacks_dropped(
        workers, sandbox, operator, RINGS_500_SECONDS, Timeout="600"
    )
    wait_for(lambda: sandbox_call_status(sandbox, stuck.call_sid) == "ringing")
    assert refreshed(stuck).status == DialStatus.QUEUED  # all Create Participant told us
    requests_before = reconcile.api_requests_made()

    _, report = sweep_until(learned_something)

    assert refreshed(stuck).status == DialStatus.RINGING
    assert reconciled_events(stuck) == ["ringing"]
    # One participant list for the conference showed it ringing; one fetch of that call.
    assert report.api_requests == 2
    made = reconcile.api_requests_made()
    assert made - requests_before >= report.api_requests  # earlier sweeps may have listed
    settings.METRICS_TOKEN = "scrape"
    metrics = client.get("/metrics", headers={"Authorization": "Bearer scrape"})
    counted = sample(parse_prometheus(metrics.content.decode()), REQUESTS_METRIC)
    assert counted == made


def test_a_ringing_call_is_left_alone_until_its_timeout_has_passed_then_gets_its_truth(
    workers, sandbox, operator, settings
):
    only_this_deadline(settings, "RECONCILE_RINGING_MARGIN_SECONDS", 5)
    ringing = place_with_callbacks_dropped(workers, sandbox, operator, NEVER_ANSWERS, Timeout="5")
    wait_for(lambda: sandbox_call_status(sandbox, ringing.call_sid) == "no-answer")
    (rang,) = sandbox.callbacks(call_sid=ringing.call_sid, event="ringing")
    assert replay(rang) == 204  # only "ringing" arrives; "no-answer" stays lost
    wait_for(lambda: refreshed(ringing).status == DialStatus.RINGING and all_applied())
    rang_at = refreshed(ringing).updated_at

    # Timeout 5 s + Twilio's 5 s buffer + the 5 s margin: not overdue 10 s after it rang.
    early = reconcile.reconcile_stale(now=rang_at + timedelta(seconds=10))
    assert (early.asked, early.api_requests) == (0, 0)
    late = reconcile.reconcile_stale(now=rang_at + timedelta(seconds=16))

    ringing.refresh_from_db()
    assert ringing.status == DialStatus.NO_ANSWER
    assert ringing.ended_at is not None
    assert reconciled_events(ringing) == ["no-answer"]
    assert late.api_requests == 2  # the list no longer shows it; so its call is fetched


def test_a_ringing_call_whose_leave_came_but_not_its_end_is_fetched_by_itself(
    workers, sandbox, operator, settings
):
    # Its participant-leave arrived, its no-answer was lost. Gone from the conference's
    # participant list, it is a call the list can tell nothing about: the faults benchmark
    # saw such a dial stay ringing for good, claimed every round and never fetched.
    only_this_deadline(settings, "RECONCILE_RINGING_MARGIN_SECONDS", 5)
    ringing = place_with_callbacks_dropped(workers, sandbox, operator, NEVER_ANSWERS, Timeout="5")
    wait_for(lambda: sandbox_call_status(sandbox, ringing.call_sid) == "no-answer")
    deliver_all_but(sandbox, ringing.call_sid, lost={"no-answer"})
    ringing.refresh_from_db()
    assert (ringing.status, ringing.joined_at) == (DialStatus.RINGING, None)
    assert ringing.left_at is not None

    swept = reconcile.reconcile_stale(now=ringing.updated_at + timedelta(seconds=16))

    ringing.refresh_from_db()
    assert ringing.status == DialStatus.NO_ANSWER
    assert reconciled_events(ringing) == ["no-answer"]
    assert swept.api_requests == 1  # its call; no participant list, which cannot show it


def test_a_call_that_ended_unheard_in_a_conference_is_found_by_the_participant_list(
    workers, sandbox, operator, settings
):
    only_this_deadline(settings, "RECONCILE_LIVE_EVERY_SECONDS", 0.5)
    talked = place_with_callbacks_dropped(workers, sandbox, operator, TALKS_FOR_20_SECONDS)
    wait_for(lambda: sandbox_call_status(sandbox, talked.call_sid) == "completed")
    deliver_all_but(sandbox, talked.call_sid, lost={"completed", "participant-leave"})
    talked.refresh_from_db()
    assert (talked.status, talked.left_at) == (DialStatus.IN_PROGRESS, None)
    assert talked.joined_at is not None

    _, report = sweep_until(learned_something)

    talked.refresh_from_db()
    assert talked.status == DialStatus.COMPLETED
    assert talked.call_duration_seconds == 20
    assert talked.left_at is not None
    assert reconciled_events(talked) == ["completed", "participant-leave"]
    assert report.api_requests == 2  # the list (it was not in it), then its call


def test_calls_in_a_conference_cost_one_participant_list_per_interval_not_one_request_each(
    workers, sandbox, operator, settings
):
    only_this_deadline(settings, "RECONCILE_LIVE_EVERY_SECONDS", 1.0)
    workers.start()
    conference = f"states-{uuid.uuid4().hex[:8]}"
    staying = [dial(operator, to, conference=conference) for to in (STAYS, STAYS_TOO)]
    wait_for(
        lambda: (
            all(refreshed(each).joined_at for each in staying)
            and not sandbox.callbacks(status="pending")
            and all_applied()
        )
    )

    checked_at, first = sweep_until(lambda report: report.api_requests > 0)

    assert first.api_requests == 1  # one list answered for both calls
    assert first.learned == 0
    within = reconcile.reconcile_stale(now=checked_at + timedelta(seconds=0.5))
    assert within.api_requests == 0  # both were checked: neither is due before the interval
    after = reconcile.reconcile_stale(now=checked_at + timedelta(seconds=1.5))
    assert after.api_requests == 1
    assert all(refreshed(each).status == DialStatus.IN_PROGRESS for each in staying)
    assert not CallbackEvent.objects.filter(kind=CallbackKind.RECONCILED).exists()


@pytest.mark.parametrize(
    ("lost", "learned"),
    [
        pytest.param("completed", "completed", id="left-without-its-call-end"),
        pytest.param("participant-leave", "participant-leave", id="ended-without-its-leave"),
    ],
)
def test_a_call_whose_leave_and_end_disagree_gets_the_missing_one_soon_after(
    workers, sandbox, operator, settings, lost, learned
):
    only_this_deadline(settings, "RECONCILE_LEAVE_AFTER_SECONDS", 0.5)
    talked = place_with_callbacks_dropped(workers, sandbox, operator, TALKS_FOR_20_SECONDS)
    wait_for(lambda: sandbox_call_status(sandbox, talked.call_sid) == "completed")
    deliver_all_but(sandbox, talked.call_sid, lost={lost})

    _, report = sweep_until(learned_something)

    talked.refresh_from_db()
    assert talked.status == DialStatus.COMPLETED
    assert talked.left_at is not None
    assert talked.ended_at is not None
    assert reconciled_events(talked) == [learned]
    assert report.api_requests == 1  # the call itself, nothing else


def test_a_conference_whose_last_participant_left_gets_its_end_soon_after(
    workers, sandbox, operator, settings
):
    only_this_deadline(settings, "RECONCILE_CONFERENCE_END_AFTER_SECONDS", 0.5)
    talked = place_with_callbacks_dropped(
        workers, sandbox, operator, TALKS_FOR_20_SECONDS, all_of_them=True
    )
    conference = Conference.objects.get(pk=talked.conference_id)
    api = sandbox_client(sandbox)
    wait_for(lambda: api.conferences(conference.sid).fetch().status == "completed")
    dropped = {
        entry["id"]: entry
        for filters in ({"conference_sid": conference.sid}, {"call_sid": talked.call_sid})
        for entry in sandbox.callbacks(status="dropped", **filters)
    }
    delivered = [
        dropped[key] for key in sorted(dropped) if dropped[key]["event"] != "conference-end"
    ]
    assert len(delivered) == len(dropped) - 1  # all but the one conference-end
    assert [replay(entry) for entry in delivered] == [204] * len(delivered)
    wait_for(all_applied)
    conference.refresh_from_db()
    assert conference.status == ConferenceStatus.IN_PROGRESS
    assert refreshed(talked).left_at is not None

    checked_at, report = sweep_until(learned_something)

    conference.refresh_from_db()
    assert conference.status == ConferenceStatus.COMPLETED
    assert conference.reason_ended == "last-participant-left"
    assert conference.ended_at is not None
    assert report.api_requests == 1  # the conference itself
    assert reconcile.reconcile_stale(now=checked_at + timedelta(minutes=5)).api_requests == 0
