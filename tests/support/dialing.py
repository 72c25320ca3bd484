"""Dialing callers the way the dial form does, and reading what reached the sandbox."""

from __future__ import annotations

from typing import Any

from conferences.dialing.submission import DialSubmission, submit_dial
from conferences.models import DialRequest, User
from tests.support.sandbox import sandbox_client
from twilio_sandbox import Sandbox

CALLER_ID = "+15005550006"


def dial(operator: User, to: str, conference: str = "standup", **params: Any) -> DialRequest:
    """Submit a dial as the form would; a worker (if one runs) places it."""
    body: dict[str, Any] = {"To": to, "From": CALLER_ID, **params}
    return submit_dial(operator=operator, submission=DialSubmission(conference, body))


def refreshed(dial_request: DialRequest) -> DialRequest:
    """The row as the workers and callbacks have left it by now (for `wait_for`)."""
    dial_request.refresh_from_db()
    return dial_request


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


def participants_in(sandbox: Sandbox, to: str) -> int:
    """Calls the sandbox actually created to `to`: its Calls list, not its request log."""
    return len(sandbox_client(sandbox).calls.list(to=to))
