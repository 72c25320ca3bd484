"""Helpers only the pipeline tests use; dialing and reading the sandbox are in
tests.support.dialing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conferences.accounts import twilio_accounts
from conferences.models import Conference, DialRequest, User

ALWAYS_ANSWERS = "+15005550006"
INVALID_TO = "+15005550001"


def arrival(entry: dict[str, Any]) -> datetime:
    """When the request reached the sandbox (it logs when it answered, and how long it took)."""
    answered = datetime.fromisoformat(entry["time"])
    return answered - timedelta(milliseconds=entry["duration_ms"])


def stored_dial(operator: User, conference: str, **fields: Any) -> DialRequest:
    """A dial row written straight to the database, in any state, without a worker."""
    account = twilio_accounts.default_account()
    room = Conference.objects.create(account=account, friendly_name=conference)
    return DialRequest.objects.create(
        account=account,
        conference=room,
        operator=operator,
        to_number="+15005550006",
        from_number="+15005550006",
        label=f"{conference}-{DialRequest.objects.count()}",
        **fields,
    )
