from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from conferences.accounts import twilio_accounts
from conferences.dialing.submission import DialSubmission, submit_dial
from conferences.models import Conference, DialRequest, User
from twilio_sandbox import Sandbox

ALWAYS_ANSWERS = "+15005550006"
INVALID_TO = "+15005550001"
CALLER_ID = "+15005550006"


def dial(operator: User, to: str, conference: str = "standup", **params: Any) -> DialRequest:
    body: dict[str, Any] = {"To": to, "From": CALLER_ID, **params}
    return submit_dial(operator=operator, submission=DialSubmission(conference, body))


def creates(sandbox: Sandbox, *, succeeded: bool | None = None) -> list[dict[str, Any]]:
    """Create Participant requests the sandbox received (optionally only 201s)."""
    found = [
        entry
        for entry in sandbox.requests()
        if entry["method"] == "POST" and entry["path"].endswith("/Participants.json")
    ]
    if succeeded is not None:
        found = [entry for entry in found if (entry["status"] == 201) is succeeded]
    return found


def arrival(entry: dict[str, Any]) -> datetime:
    """When the request reached the sandbox (it logs when it answered, and how long it took)."""
    answered = datetime.fromisoformat(entry["time"])
    return answered - timedelta(milliseconds=entry["duration_ms"])


def participants_in(sandbox: Sandbox, to: str) -> int:
    """Calls the sandbox actually created to `to`: its Calls list, not its request log."""
    from django.conf import settings
    from twilio.rest import Client

    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    client.api.base_url = sandbox.url
    return len(client.calls.list(to=to))


def refreshed(dial_request: DialRequest) -> DialRequest:
    dial_request.refresh_from_db()
    return dial_request


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
