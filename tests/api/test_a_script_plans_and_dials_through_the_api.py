"""End to end: a script using only the API (HTTP against a live server) plans invitees,
dials them through real workers into the sandbox, and reads their final statuses."""

from __future__ import annotations

from typing import Any

import pytest

from conferences.accounts.twilio_accounts import default_account
from conferences.models import AuditEntry, DialRequest, TwilioAccount, User
from tests.api.crm_script import plan_and_dial
from tests.api.helpers import CALLER_ID, token_for
from tests.support.dialing import creates
from tests.support.workers import Workers
from twilio_sandbox import Sandbox

pytestmark = pytest.mark.pipeline

INVITEES = """number,name,label
+15005550006,Alice,alice
+15005550010,Bob,bob
+15005550011,Carol,carol
"""


@pytest.mark.django_db(transaction=True)
def test_a_crm_script_plans_dials_and_reads_final_statuses(
    operator: User, workers: Workers, sandbox: Sandbox, live_server: Any, redis_db: Any
) -> None:
    # Paced fast, so three calls never wait for a slot.
    TwilioAccount.objects.filter(pk=default_account().pk).update(calls_per_second=50)
    workers.start(concurrency=2)
    outcome = plan_and_dial(
        live_server.url,
        token_for(operator),
        conference="board call",
        invitees_csv=INVITEES,
        caller_id=CALLER_ID,
    )
    assert outcome.checked_ok
    assert outcome.states == {"Alice": "in-conference", "Bob": "busy", "Carol": "no-answer"}
    assert outcome.dial_statuses == {"alice": "in-progress", "bob": "busy", "carol": "no-answer"}
    # One call each, made by the workers, audited like the page's bulk dial.
    assert len(creates(sandbox, succeeded=True)) == 3
    assert DialRequest.objects.filter(operator=operator).count() == 3
    bulk_entries = AuditEntry.objects.filter(action="bulk-dial", actor=operator)
    assert bulk_entries.filter(dial__isnull=True).count() == 1  # the conference's
    assert bulk_entries.filter(dial__isnull=False).count() == 3  # one on each call's timeline
