"""Twilio's answers are checked against the request (issue 19): a create's CallSid must be
new, its conference and label the ones asked for; a reconciled call must be this dial's.
A mismatch is a loud error on the dial, never data."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings

from conferences.gateway import client as gateway
from conferences.gateway.errors import GatewayError
from conferences.gateway.types import AccountCredentials
from conferences.models import CallbackEvent, DialAttempt, DialRequest
from conferences.operations import reconcile
from tests.pipeline.helpers import ALWAYS_ANSWERS, calls_by_label, stored_dial
from tests.support.dialing import CALLER_ID, dial, refreshed
from tests.support.sandbox import sandbox_client
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox
from twilio_sandbox.faults import Faults


def _sandbox_calls(sandbox: Sandbox) -> dict[str, str]:
    """The sandbox's own truth: CallSid of each label."""
    with sandbox.store.lock:
        return {
            sandbox.store.participant_of(call).label or "": call.sid
            for call in sandbox.store.calls.values()
        }


def _worker_logs(workers: Any) -> str:
    return "".join(path.read_text() for path in workers.log_dir.glob("*.log"))


@pytest.mark.pipeline
@pytest.mark.xdist_group("pipeline")
def test_a_create_answered_with_another_dials_callsid_is_flagged_and_never_stored(
    workers, sandbox, operator
):
    workers.start()
    first = dial(operator, ALWAYS_ANSWERS, conference="answers")
    wait_for(lambda: refreshed(first).call_sid)
    # From now on every create's answer carries the first call's SID (the calls are made).
    sandbox.set_faults(Faults.from_json({"wrong_answer": "reused_call_sid"}))
    others = [dial(operator, f"+1500555200{i}", conference="answers") for i in (1, 2)]
    wait_for(lambda: all(refreshed(d).placed_at for d in others), timeout=40)
    truth = _sandbox_calls(sandbox)
    sids = {d.label: refreshed(d).call_sid for d in [first, *others]}
    assert len(set(sids.values())) == 3
    assert sids == {label: truth[label] for label in sids}
    assert sum(calls_by_label(sandbox).values()) == 3
    for other in others:
        flagged = other.attempt_log.get(outcome=DialAttempt.Outcome.MISMATCH)
        assert f"{first.call_sid} is already dial #{first.pk}'s" in flagged.detail
        assert other.placed_by_check in {"callback", "participant-label", "calls-list"}
    assert "ERROR" in _worker_logs(workers)
    assert "does not match the request" in _worker_logs(workers)


@pytest.mark.pipeline
@pytest.mark.xdist_group("pipeline")
@pytest.mark.parametrize(
    ("wrong", "said"),
    [("other_label", "the answer's label is"), ("other_conference", "is 'unknown to Twilio'")],
)
def test_a_create_answered_about_another_label_or_conference_is_flagged(
    workers, sandbox, operator, wrong, said
):
    workers.start()
    sandbox.set_faults(Faults.from_json({"wrong_answer": wrong}))
    submitted = dial(operator, ALWAYS_ANSWERS, conference=f"asked-{wrong}")
    wait_for(lambda: refreshed(submitted).placed_at, timeout=40)
    flagged = submitted.attempt_log.get(outcome=DialAttempt.Outcome.MISMATCH)
    assert said in flagged.detail
    assert submitted.call_sid == _sandbox_calls(sandbox)[submitted.label]
    (conference,) = sandbox_client(sandbox).conferences.list(friendly_name=f"asked-{wrong}")
    submitted.conference.refresh_from_db()
    assert submitted.conference.sid == conference.sid
    assert calls_by_label(sandbox)[submitted.label] == 1


def _credentials(sandbox: Sandbox) -> AccountCredentials:
    return AccountCredentials(
        account_sid=django_settings.TWILIO_ACCOUNT_SID,
        username=django_settings.TWILIO_ACCOUNT_SID,
        password=django_settings.TWILIO_AUTH_TOKEN,
        api_base_url=sandbox.url,
    )


def test_a_call_fetched_must_be_the_call_asked_about(sandbox):
    client = sandbox_client(sandbox)
    asked = client.conferences("fetched").participants.create(from_=CALLER_ID, to=ALWAYS_ANSWERS)
    client.conferences("fetched").participants.create(from_=CALLER_ID, to="+15005552001")
    sandbox.set_faults(Faults.from_json({"wrong_answer": "other_call"}))
    with pytest.raises(GatewayError, match="another call"):
        gateway.fetch_call(_credentials(sandbox), asked.call_sid, timeout=5)


@pytest.mark.django_db
def test_reconciling_a_dial_never_records_events_about_another_call(sandbox, operator, settings):
    settings.TWILIO_API_BASE_URL = sandbox.url
    client = sandbox_client(sandbox)
    other = client.conferences("reconciled").participants.create(from_=CALLER_ID, to="+15005552001")
    ours = client.conferences("reconciled").participants.create(
        from_=CALLER_ID, to=ALWAYS_ANSWERS, label="ours"
    )
    assert other.call_sid != ours.call_sid
    submitted = stored_dial(operator, "reconciled-dial", call_sid=ours.call_sid, status="queued")
    sandbox.set_faults(Faults.from_json({"wrong_answer": "other_call"}))
    result = reconcile.reconcile_dial(submitted.pk)
    assert not result.ok and other.call_sid in result.problem
    assert not CallbackEvent.objects.filter(dial=submitted).exists()
    assert not CallbackEvent.objects.filter(call_sid=other.call_sid).exists()
    assert DialRequest.objects.get(pk=submitted.pk).status == "queued"
