"""The only module that talks to Twilio (through the official SDK).

Typed functions in, our own dataclasses out. Every Twilio or transport failure becomes a
GatewayError that says whether a retry can help and whether the request may have taken
effect at Twilio (the hard case for exactly-once dialing).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

# The SDK imports each resource module on first use (hundreds of ms): import them now, so a
# worker's first call does not start late and bunch up with the next paced one.
from twilio.rest.api.v2010.account.call import CallList  # noqa: F401
from twilio.rest.api.v2010.account.conference import ConferenceList  # noqa: F401
from twilio.rest.api.v2010.account.conference.participant import ParticipantList  # noqa: F401

from conferences.accounts import AccountCredentials

# Twilio names whose SDK keyword differs from the plain snake_case of the name.
_SDK_KEYWORD_EXCEPTIONS = {"From": "from_"}


@dataclass(frozen=True)
class PlacedParticipant:
    call_sid: str
    conference_sid: str
    status: str
    label: str
    queue_time_ms: int | None
    response: dict[str, Any]


@dataclass(frozen=True)
class ParticipantSummary:
    call_sid: str
    conference_sid: str
    label: str
    status: str
    muted: bool
    hold: bool
    coaching: bool


@dataclass(frozen=True)
class CallSummary:
    sid: str
    to: str
    from_: str
    status: str
    date_created: datetime | None
    answered_by: str
    duration_seconds: int | None


@dataclass(frozen=True)
class ConferenceSummary:
    sid: str
    friendly_name: str
    status: str
    reason_ended: str


class GatewayError(Exception):
    """Twilio said no, or did not answer.

    retryable: trying again later can succeed (429, 5xx, timeouts, connection errors).
    outcome_unknown: the request may have reached Twilio and taken effect (a read timeout
    or a 5xx after sending), so a create must be checked before it is repeated.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        more_info: str = "",
        retryable: bool,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.more_info = more_info
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown


def sdk_keyword(twilio_name: str) -> str:
    """`StatusCallbackEvent` -> `status_callback_event`; `From` -> `from_`."""
    if twilio_name in _SDK_KEYWORD_EXCEPTIONS:
        return _SDK_KEYWORD_EXCEPTIONS[twilio_name]
    out = []
    for index, char in enumerate(twilio_name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


_clients_lock = threading.Lock()


@functools.lru_cache(maxsize=32)
def _cached_client(
    username: str, password: str, account_sid: str, base_url: str, timeout: float
) -> Client:
    client = Client(
        username,
        password,
        account_sid=account_sid,
        http_client=TwilioHttpClient(timeout=timeout, max_retries=0),
    )
    if base_url:
        # The sandbox (or any stand-in) speaks Twilio's API at another address; don't set
        # region or edge together with this, they rewrite the host.
        client.api.base_url = base_url
    return client


def _client(creds: AccountCredentials, timeout: float) -> Client:
    with _clients_lock:
        return _cached_client(
            creds.username, creds.password, creds.account_sid, creds.api_base_url, timeout
        )


def _translate(error: Exception) -> GatewayError:
    if isinstance(error, TwilioRestException):
        status = int(error.status or 0)
        code = int(error.code) if error.code else None
        more_info = ""
        details = getattr(error, "details", None)
        if isinstance(details, Mapping):
            more_info = str(details.get("more_info", ""))
        if not more_info and code:
            more_info = f"https://www.twilio.com/docs/errors/{code}"
        return GatewayError(
            str(error.msg or "Twilio refused the request"),
            code=code,
            status=status,
            more_info=more_info,
            retryable=status == 429 or status >= 500,
            # A 5xx may come after Twilio acted on the request; a 429 comes before.
            outcome_unknown=status >= 500,
        )
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError):
        return GatewayError(f"could not connect to Twilio: {error}", retryable=True)
    if isinstance(error, requests.ConnectionError) and "Connection refused" in str(error):
        return GatewayError("Twilio refused the connection", retryable=True)
    if isinstance(error, requests.RequestException):
        # Read timeout, reset after sending, …: the request may have been acted on.
        return GatewayError(
            f"no answer from Twilio: {error.__class__.__name__}",
            retryable=True,
            outcome_unknown=True,
        )
    return GatewayError(f"Twilio client error: {error}", retryable=False)


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def create_participant(
    creds: AccountCredentials,
    conference: str,
    params: Mapping[str, str | Sequence[str]],
    *,
    timeout: float,
) -> PlacedParticipant:
    """Create Participant: `conference` is a CF SID or a friendly name (created on first join).

    `params` uses Twilio's parameter names with wire values ("true"/"false", lists for
    repeated keys); the SDK sends them as Twilio expects.
    """
    kwargs: dict[str, Any] = {sdk_keyword(name): value for name, value in params.items()}
    try:
        # The SDK puts the path segment in the URL as given: a friendly name with spaces or
        # slashes must be encoded here.
        participant = (
            _client(creds, timeout)
            .conferences(quote(conference, safe=""))
            .participants.create(**kwargs)
        )
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return PlacedParticipant(
        call_sid=participant.call_sid or "",
        conference_sid=participant.conference_sid or "",
        status=participant.status or "",
        label=participant.label or "",
        queue_time_ms=_int_or_none(participant.queue_time),
        response=_instance_fields(participant),
    )


def _instance_fields(instance: Any) -> dict[str, Any]:
    fields = {}
    for key, value in vars(instance).items():
        if key.startswith("_"):
            continue
        fields[key] = value.isoformat() if isinstance(value, datetime) else value
    return fields


def _participant_summary(participant: Any) -> ParticipantSummary:
    return ParticipantSummary(
        call_sid=participant.call_sid or "",
        conference_sid=participant.conference_sid or "",
        label=participant.label or "",
        status=participant.status or "",
        muted=bool(participant.muted),
        hold=bool(participant.hold),
        coaching=bool(participant.coaching),
    )


def find_conferences(
    creds: AccountCredentials, *, friendly_name: str, timeout: float
) -> list[ConferenceSummary]:
    """Conferences with this friendly name (any status), newest first."""
    try:
        found = _client(creds, timeout).conferences.list(friendly_name=friendly_name, limit=20)
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return [
        ConferenceSummary(
            sid=c.sid or "",
            friendly_name=c.friendly_name or "",
            status=c.status or "",
            reason_ended=c.reason_conference_ended or "",
        )
        for c in found
    ]


def fetch_participant(
    creds: AccountCredentials, conference_sid: str, call_sid_or_label: str, *, timeout: float
) -> ParticipantSummary | None:
    """A participant by CallSid or Label; None when Twilio has no such participant."""
    try:
        participant = (
            _client(creds, timeout)
            .conferences(conference_sid)
            .participants(quote(call_sid_or_label, safe=""))
            .fetch()
        )
    except TwilioRestException as error:
        if error.status == 404:
            return None
        raise _translate(error) from error
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return _participant_summary(participant)


def find_calls(
    creds: AccountCredentials,
    *,
    to: str,
    started_on_or_after: datetime,
    timeout: float,
) -> list[CallSummary]:
    """Calls to `to` created at or after the given time (Twilio filters by date; we refine)."""
    try:
        calls = _client(creds, timeout).calls.list(
            to=to, start_time_after=started_on_or_after, limit=200
        )
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    found = []
    for call in calls:
        created = call.date_created
        if created is not None and created < started_on_or_after:
            continue
        found.append(
            CallSummary(
                sid=call.sid or "",
                to=call.to or "",
                from_=call._from or "",
                status=call.status or "",
                date_created=created,
                answered_by=call.answered_by or "",
                duration_seconds=_int_or_none(call.duration),
            )
        )
    return found


# --- Webhook signatures (issue 8: used by conferences/webhooks.py) ----------------------


def validate_signature(
    token: str, url: str, params: Mapping[str, Sequence[str]], signature: str
) -> bool:
    """Whether `signature` is Twilio's X-Twilio-Signature for this URL and these parameters.

    `params` maps each name to all its values (empty for GET: they are in the URL). The
    SDK's RequestValidator also tries the URL with and without the default port.
    """
    from django.utils.datastructures import MultiValueDict
    from twilio.request_validator import RequestValidator

    # RequestValidator reads repeated names through getlist(), as on a Django QueryDict.
    multi = MultiValueDict({name: list(values) for name, values in params.items()})
    return bool(RequestValidator(token).validate(url, multi, signature))
