"""Exactly once when creates hang (issue 24): the checks find a call in any state from the
moment Twilio created it, and trust "nothing found" only when they could have seen it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conferences.accounts.twilio_accounts import default_account
from conferences.dialing import placement
from conferences.models import Conference, DialAttempt, DialRequest, DialStatus, User
from tests.pipeline.helpers import calls_by_label
from tests.support.dialing import CALLER_ID, creates, dial, refreshed
from tests.support.sandbox import sandbox_client
from tests.support.waiting import wait_for
from twilio_sandbox import Sandbox
from twilio_sandbox.faults import Faults

# Rings 300 (simulated) seconds: at the sandbox's 50x, still ringing through each check.
RINGS_LONG = "+15005552300"
# Answers and hangs up after one (simulated) second: its conference ends at once.
HANGS_UP_AT_ONCE = "+15005551001"


def _verifying_dial(operator: User, conference: str, label: str) -> DialRequest:
    """A dial whose first create's outcome was unknown: the next run must check first."""
    account = default_account()
    room, _ = Conference.objects.get_or_create(account=account, friendly_name=conference)
    return DialRequest.objects.create(
        account=account,
        conference=room,
        operator=operator,
        to_number=RINGS_LONG,
        from_number=CALLER_ID,
        label=label,
        status=DialStatus.PLACING,
        needs_verification=True,
        first_attempt_at=timezone.now() - timedelta(seconds=1),
    )


def _ended_conference(sandbox: Sandbox, name: str) -> str:
    """A conference of this name that has come and gone at the sandbox; its SID."""
    client = sandbox_client(sandbox)
    client.conferences(name).participants.create(from_=CALLER_ID, to=HANGS_UP_AT_ONCE)
    (ended,) = wait_for(
        lambda: client.conferences.list(friendly_name=name, status="completed"), timeout=10
    )
    return str(ended.sid)


@pytest.fixture
def checks_reach(sandbox: Sandbox, settings: Any, db: None) -> Sandbox:
    """The checks ask this test's sandbox (no workers: they run in this process)."""
    settings.TWILIO_API_BASE_URL = sandbox.url
    return sandbox


def test_the_calls_list_check_finds_a_call_still_ringing_with_no_start_time(checks_reach, operator):
    submitted = _verifying_dial(operator, "standup", "ringing-1")
    # The call exists, ringing, under no participant this dial's checks can find by label
    # (a participant Twilio does not list yet): only the Calls list can see it.
    call = (
        sandbox_client(checks_reach)
        .conferences("elsewhere")
        .participants.create(from_=CALLER_ID, to=RINGS_LONG)
    )
    wait_for(
        lambda: sandbox_client(checks_reach).calls(call.call_sid).fetch().status == "ringing",
        timeout=10,
    )
    assert sandbox_client(checks_reach).calls(call.call_sid).fetch().start_time is None
    found = placement.find_existing_call(submitted)
    assert found is not None
    assert (found.check, found.call_sid) == ("calls-list", call.call_sid)


def test_calls_that_could_be_another_dials_make_the_checks_inconclusive(checks_reach, operator):
    submitted = _verifying_dial(operator, "standup", "twins-1")
    _verifying_dial(operator, "standup", "twins-2")  # to the same number, also unknown
    sandbox_client(checks_reach).conferences("elsewhere").participants.create(
        from_=CALLER_ID, to=RINGS_LONG
    )
    with pytest.raises(placement.ChecksInconclusive, match="whose is whose"):
        placement.find_existing_call(submitted)


def test_the_label_check_looks_in_the_conference_a_create_reopened(checks_reach, operator):
    old_sid = _ended_conference(checks_reach, "reopened")
    submitted = _verifying_dial(operator, "reopened", "reopened-1")
    Conference.objects.filter(pk=submitted.conference_id).update(sid=old_sid)
    submitted.refresh_from_db()
    # The create named the conference by its friendly name: Twilio opened a new one.
    created = (
        sandbox_client(checks_reach)
        .conferences("reopened")
        .participants.create(from_=CALLER_ID, to=RINGS_LONG, label="reopened-1")
    )
    assert created.conference_sid != old_sid
    found = placement.find_existing_call(submitted)
    assert found is not None
    assert (found.check, found.call_sid) == ("participant-label", created.call_sid)
    assert found.conference_sid == created.conference_sid


@pytest.mark.pipeline
@pytest.mark.xdist_group("pipeline")
def test_a_create_that_hangs_while_its_call_waits_queued_makes_exactly_one_call(
    workers, sandbox, operator
):
    workers.start()
    # An earlier dial opened the conference and it ended: the next create, by friendly
    # name, opens a new conference of that name (the SID the app knows is the old one).
    first = dial(operator, HANGS_UP_AT_ONCE, conference="queued")
    wait_for(lambda: refreshed(first).placed_at)
    wait_for(
        lambda: sandbox_client(sandbox).conferences.list(friendly_name="queued", status="completed")
    )
    # Twilio's queue: 1 call per 10 s, and a call taken a moment ago fills the next slot,
    # so the dial's call waits queued (no callbacks, no start time) far beyond the grace;
    # its create's answer never comes in time.
    sandbox.set_faults(
        Faults.from_json(
            {
                "cps": 0.1,
                "rules": [{"match": {"to": RINGS_LONG}, "hang_after_create_seconds": 6}],
            }
        )
    )
    sandbox_client(sandbox).conferences("another").participants.create(
        from_=CALLER_ID, to="+15005550006"
    )
    submitted = dial(operator, RINGS_LONG, conference="queued")
    wait_for(lambda: refreshed(submitted).placed_at, timeout=40)
    to_this_number = [e for e in creates(sandbox) if e["params"]["To"] == [RINGS_LONG]]
    assert len(to_this_number) == 1
    assert calls_by_label(sandbox)[submitted.label] == 1
    outcomes = [a.outcome for a in submitted.attempt_log.all()]
    assert outcomes[0] == DialAttempt.Outcome.UNKNOWN
    assert DialAttempt.Outcome.ADOPTED in outcomes
    assert submitted.placed_by_check in {"callback", "participant-label", "calls-list"}
    call = sandbox_client(sandbox).calls(submitted.call_sid).fetch()
    assert call.to == RINGS_LONG and submitted.status != DialStatus.FAILED
