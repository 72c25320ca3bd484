"""Callbacks as Twilio sends them: real captured payloads, sent through the real URL,
really signed, about dials made for the purpose."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator

from conferences.accounts import twilio_accounts
from conferences.callbacks import applier as callback_applier
from conferences.callbacks.addresses import callback_url
from conferences.models import Conference, DialRequest, TwilioAccount, User

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twilio"
FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
# The CallSid and ParticipantLabel the fixtures carry (one captured call).
FIXTURE_CALL_SID = "CA7d41e9b02c3f48a6b5d1e0f9a8c72b64"
FIXTURE_CONFERENCE_SID = "CF2b8e6d4a9c1f47e3b0a5d8c6e4f21a97"
FIXTURE_LABEL = "caller-olivia-1"


def fixture_kind(name: str) -> str:
    """The webhook kind (URL segment) a fixture payload is sent to."""
    for prefix, kind in (
        ("call-status-", "call-status"),
        ("conference-recording-", "conference-recording"),
        ("recording-", "recording"),
        ("amd-", "amd"),
    ):
        if name.startswith(prefix):
            return kind
    return "conference"


def load_payload(name: str, **overrides: str) -> dict[str, str]:
    params: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text())
    params.update(overrides)
    return params


def make_dial(
    operator: User,
    *,
    account: TwilioAccount | None = None,
    conference: Conference | None = None,
    label: str = FIXTURE_LABEL,
    call_sid: str = FIXTURE_CALL_SID,
    relay_targets: Mapping[str, Any] | None = None,
) -> DialRequest:
    account = account or twilio_accounts.default_account()
    conference = conference or Conference.objects.create(
        account=account, friendly_name="weekly-sync", created_by=operator
    )
    return DialRequest.objects.create(
        account=account,
        conference=conference,
        operator=operator,
        to_number="+14155550142",
        from_number="+15005550006",
        label=label,
        call_sid=call_sid,
        relay_targets=dict(relay_targets or {}),
    )


def payload_for(dial: DialRequest, name: str, **overrides: str) -> dict[str, str]:
    """A fixture payload about this dial: its account, and its CallSid if it has one."""
    params = load_payload(name)
    params["AccountSid"] = dial.account.account_sid
    if "CallSid" in params and dial.call_sid:
        params["CallSid"] = dial.call_sid
    if "ParticipantLabel" in params:
        params["ParticipantLabel"] = dial.label
    params.update(overrides)
    return params


def sign(token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    return str(RequestValidator(token).compute_signature(url, dict(params or {})))


@dataclass
class Sent:
    status_code: int
    url: str
    content: bytes


class TwilioSender:
    """Sends callbacks as Twilio does: to the dial's callback URL, signed with a token.

    The receiver only stores; with `apply` (the default) each send is followed by what the
    `callbacks` process does next (`apply_pending_callbacks`), so a test reads the applied
    state at once.
    """

    def __init__(self, client: Client, *, apply: bool = True) -> None:
        self.client = client
        self.apply = apply

    def send(
        self,
        kind: str,
        dial_id: int,
        params: Mapping[str, str],
        *,
        method: str = "POST",
        token: str | None = None,
        url: str | None = None,
        signed_url: str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Sent:
        """`url` is the URL Twilio calls; `signed_url` (default: the same) the one it signs."""
        token = settings.TWILIO_AUTH_TOKEN if token is None else token
        url = url or callback_url(kind, dial_id)
        if method == "GET":
            separator = "&" if "?" in url else "?"
            url = f"{url}{separator}{urlencode(params)}"
            if signed_url:
                signed_url = f"{signed_url}{'&' if '?' in signed_url else '?'}{urlencode(params)}"
            signed_params: Mapping[str, str] = {}
        else:
            signed_params = params
        all_headers = dict(headers or {})
        if signature is None:
            signature = sign(token, signed_url or url, signed_params)
        if signature:
            all_headers["X-Twilio-Signature"] = signature
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if method == "GET":
            response = self.client.get(path, headers=all_headers)
        else:
            response = self.client.generic(
                method,
                path,
                urlencode(params),
                content_type="application/x-www-form-urlencoded",
                headers=all_headers,
            )
        if self.apply:
            callback_applier.apply_pending_callbacks()
        return Sent(response.status_code, url, response.content)

    def fixture(self, dial: DialRequest, name: str, **overrides: str) -> Sent:
        return self.send(fixture_kind(name), dial.pk, payload_for(dial, name, **overrides))
