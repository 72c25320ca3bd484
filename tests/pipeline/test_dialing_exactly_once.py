"""The dial pipeline on real workers, real Redis and the sandbox, with faults on."""

from __future__ import annotations

import pytest
from celery.app.task import Task
from kombu.exceptions import OperationalError

from conferences.dialing import sweeper
from conferences.models import DialAttempt, DialStatus, TwilioAccount
from tests.pipeline.helpers import ALWAYS_ANSWERS, INVALID_TO, arrival
from tests.support.dialing import creates, dial, participants_in, refreshed
from tests.support.waiting import wait_for
from twilio_sandbox.faults import Faults

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]


def test_a_dial_becomes_exactly_one_call_with_its_sid_recorded(workers, sandbox, operator):
    workers.start()
    submitted = dial(operator, ALWAYS_ANSWERS)
    placed = wait_for(lambda: refreshed(submitted).call_sid)
    assert placed.startswith("CA")
    submitted.refresh_from_db()
    assert submitted.placed_by_check == "created"
    assert (submitted.conference.sid or "").startswith("CF")
    assert submitted.sip_auth_password_encrypted == ""
    assert len(creates(sandbox)) == 1
    sent = creates(sandbox)[0]["params"]
    assert sent["Label"] == [submitted.label]
    assert sent["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert sent["StatusCallback"][0].endswith(f"/webhooks/twilio/call-status/{submitted.pk}")
    attempts = list(submitted.attempt_log.all())
    assert [a.outcome for a in attempts] == [DialAttempt.Outcome.PLACED]
    assert attempts[0].latency_ms is not None


def test_a_refused_number_fails_at_once_with_twilios_words_and_no_retry(workers, sandbox, operator):
    workers.start()
    submitted = dial(operator, INVALID_TO)
    wait_for(lambda: refreshed(submitted).status == DialStatus.FAILED)
    assert submitted.error_code == 21211
    assert submitted.error_http_status == 400
    assert "not a valid phone number" in submitted.error_message
    assert submitted.error_more_info.endswith("/21211")
    assert len(creates(sandbox)) == 1
    assert submitted.attempt_log.get().outcome == DialAttempt.Outcome.PERMANENT_ERROR


def test_server_errors_are_retried_until_one_call_exists(workers, sandbox, operator):
    # Creates to this number fail; the lookups the checks make still answer.
    sandbox.set_faults(
        Faults.from_json(
            {"match": {"to": ALWAYS_ANSWERS}, "error_rate": 1.0, "error_statuses": [500, 503]}
        )
    )
    workers.start()
    submitted = dial(operator, ALWAYS_ANSWERS)
    wait_for(lambda: len(creates(sandbox)) >= 2)
    sandbox.set_faults(Faults())
    wait_for(lambda: refreshed(submitted).call_sid, timeout=30)
    assert participants_in(sandbox, ALWAYS_ANSWERS) == 1
    outcomes = [a.outcome for a in submitted.attempt_log.all()]
    assert DialAttempt.Outcome.UNKNOWN in outcomes
    # Before each re-create after a 5xx, the checks looked for the call and found nothing.
    assert "checks-found-nothing" in {a.decided_by for a in submitted.attempt_log.all()}


def test_too_many_concurrent_requests_are_retried_after_backing_off(workers, sandbox, operator):
    from conferences.accounts.twilio_accounts import default_account

    TwilioAccount.objects.filter(pk=default_account().pk).update(calls_per_second=50)
    sandbox.set_faults(Faults.from_json({"max_concurrent_requests": 1, "latency_ms": 400}))
    workers.start(name="a")
    workers.start(name="b")
    numbers = [f"+1500555{2000 + i:04d}" for i in range(4)]
    dials = [dial(operator, number, conference="crowd") for number in numbers]
    wait_for(lambda: all(refreshed(d).call_sid for d in dials), timeout=60)
    assert any(entry["status"] == 429 for entry in creates(sandbox))
    for number in numbers:
        assert participants_in(sandbox, number) == 1
    outcomes = {a.outcome for d in dials for a in d.attempt_log.all()}
    assert DialAttempt.Outcome.RETRYABLE_ERROR in outcomes


def test_a_create_whose_answer_never_comes_is_adopted_not_repeated(workers, sandbox, operator):
    sandbox.set_faults(
        Faults.from_json({"match": {"to": ALWAYS_ANSWERS}, "hang_after_create_seconds": 10})
    )
    workers.start()
    submitted = dial(operator, ALWAYS_ANSWERS)
    wait_for(lambda: refreshed(submitted).placed_at, timeout=40)
    assert participants_in(sandbox, ALWAYS_ANSWERS) <= 1
    assert len(creates(sandbox)) == 1
    assert submitted.placed_by_check in {"callback", "participant-label", "calls-list"}
    assert DialAttempt.Outcome.ADOPTED in {a.outcome for a in submitted.attempt_log.all()}


def test_a_worker_killed_mid_create_leaves_exactly_one_call(workers, sandbox, operator, settings):
    settings.DIAL_STALE_CLAIM_SECONDS = 4  # as the workers have it: the sweep runs here
    # The create takes 1.5 s to answer: long enough to kill the worker while it waits.
    sandbox.set_faults(Faults.from_json({"match": {"to": ALWAYS_ANSWERS}, "latency_ms": 1500}))
    victim = workers.start(name="victim")
    submitted = dial(operator, ALWAYS_ANSWERS)
    wait_for(lambda: refreshed(submitted).status == DialStatus.PLACING)
    wait_for(lambda: len(sandbox.requests()) >= 1)
    workers.kill(victim)
    sandbox.set_faults(Faults())
    workers.start(name="rescuer")
    # The sweeper (beat runs it in production) hands the stale claim to the new worker.
    wait_for(
        lambda: sweeper.sweep_dials().stale_claims or refreshed(submitted).placed_at,
        timeout=30,
        interval=0.5,
    )
    wait_for(lambda: refreshed(submitted).placed_at, timeout=40)
    wait_for(lambda: participants_in(sandbox, ALWAYS_ANSWERS) >= 1)
    assert participants_in(sandbox, ALWAYS_ANSWERS) == 1


def test_a_dial_whose_enqueue_failed_is_delivered_by_the_sweeper(
    workers, sandbox, operator, monkeypatch, settings
):
    workers.start()
    settings.DIAL_LOST_AFTER_SECONDS = 0

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis: Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(Task, "apply_async", broker_down)
        submitted = dial(operator, ALWAYS_ANSWERS)
    assert refreshed(submitted).status == DialStatus.PENDING
    report = sweeper.sweep_dials()
    assert report.requeued == 1
    wait_for(lambda: refreshed(submitted).call_sid, timeout=30)
    assert len(creates(sandbox)) == 1


def test_calls_per_second_hold_across_two_workers(workers, sandbox, operator):
    from conferences.accounts.twilio_accounts import default_account

    account = default_account()
    TwilioAccount.objects.filter(pk=account.pk).update(calls_per_second=4)
    workers.start(name="a", concurrency=3)
    workers.start(name="b", concurrency=3)
    dials = [dial(operator, f"+1500555{2000 + i:04d}"[:12], conference="pace") for i in range(8)]
    wait_for(lambda: all(refreshed(d).call_sid for d in dials), timeout=60)
    starts = sorted(arrival(entry) for entry in creates(sandbox, succeeded=True))
    assert len(starts) == 8
    # 4 calls per second with burst 1: the sandbox never sees more than 4 in any second.
    for i, first in enumerate(starts):
        in_window = [t for t in starts[i:] if (t - first).total_seconds() < 1.0]
        assert len(in_window) <= 4, [t.isoformat() for t in starts]
    assert (starts[-1] - starts[0]).total_seconds() >= 7 / 4 * 0.9
