"""The calls to Twilio's REST API, through the official SDK.

Typed functions in, dataclasses from `gateway.types` out; every failure is a GatewayError."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api.v2010.account.call import CallList  # noqa: F401
from twilio.rest.api.v2010.account.conference import ConferenceList  # noqa: F401
from twilio.rest.api.v2010.account.conference.participant import ParticipantList  # noqa: F401

from conferences.gateway.errors import GatewayError, _translate
from conferences.gateway.types import (
    AccountCredentials,
    CallDetails,
    CallSummary,
    ConferenceDetails,
    ConferenceSummary,
    LiveParticipant,
    ParticipantChange,
    ParticipantSummary,
    PlacedParticipant,
)

logger = logging.getLogger(__name__)

# Twilio names whose SDK keyword differs from the plain snake_case of the name.
_SDK_KEYWORD_EXCEPTIONS = {"From": "from_"}


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


def _fetch_or_none(request: Callable[[], Any]) -> Any:
    """Run an SDK fetch: None when Twilio has no such resource (404), else a GatewayError."""
    try:
        return request()
    except TwilioRestException as error:
        if error.status == 404:
            return None
        raise _translate(error) from error
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error


def _answered_about(asked: str, answered: Sequence[str], resource: str) -> None:
    """Twilio's answer must be about the resource asked for; anything else is a loud error,
    never data (a reconciled event about another call would land on this one's timeline)."""
    if asked not in answered:
        logger.error("Twilio answered about %s %s when asked about %s", resource, answered, asked)
        raise GatewayError(
            f"Twilio answered about another {resource} ({', '.join(answered) or 'none'}) "
            f"when asked about {asked}",
            retryable=False,
        )


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


def _conference_summary(conference: Any) -> ConferenceSummary:
    return ConferenceSummary(
        sid=conference.sid or "",
        friendly_name=conference.friendly_name or "",
        status=conference.status or "",
        reason_ended=conference.reason_conference_ended or "",
    )


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
    return [_conference_summary(c) for c in found]


def fetch_participant(
    creds: AccountCredentials, conference_sid: str, call_sid_or_label: str, *, timeout: float
) -> ParticipantSummary | None:
    """A participant by CallSid or Label; None when Twilio has no such participant."""
    participant = _fetch_or_none(
        lambda: (
            _client(creds, timeout)
            .conferences(conference_sid)
            .participants(quote(call_sid_or_label, safe=""))
            .fetch()
        )
    )
    if participant is None:
        return None
    _answered_about(
        call_sid_or_label, [participant.call_sid or "", participant.label or ""], "participant"
    )
    return _participant_summary(participant)


def find_calls(
    creds: AccountCredentials,
    *,
    to: str,
    from_: str | None = None,
    timeout: float,
    limit: int = 1000,
) -> list[CallSummary]:
    """Calls to `to` (and from `from_`) in any state, up to `limit`: no start-time bound,
    since a call queued or ringing has no start time yet and would be left out."""
    filters: dict[str, Any] = {"to": to} if from_ is None else {"to": to, "from_": from_}
    try:
        calls = _client(creds, timeout).calls.list(
            **filters, limit=limit, page_size=min(limit, 1000)
        )
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return [
        CallSummary(
            sid=call.sid or "",
            to=call.to or "",
            from_=call._from or "",
            status=call.status or "",
            date_created=call.date_created,
            answered_by=call.answered_by or "",
            duration_seconds=_int_or_none(call.duration),
        )
        for call in calls
    ]


# --- Dial page: open conferences ------------------------------------------------------


def list_open_conferences(creds: AccountCredentials, *, timeout: float) -> list[ConferenceSummary]:
    """Conferences in progress or waiting to start, newest first."""
    client = _client(creds, timeout)
    found: list[Any] = []
    try:
        for status in ("in-progress", "init"):
            found.extend(client.conferences.list(status=status, limit=50))
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return [_conference_summary(c) for c in found]


def _live_participant(participant: Any) -> LiveParticipant:
    return LiveParticipant(
        call_sid=participant.call_sid or "",
        label=participant.label or "",
        status=participant.status or "",
        muted=bool(participant.muted),
        hold=bool(participant.hold),
        coaching=bool(participant.coaching),
        call_sid_to_coach=participant.call_sid_to_coach or "",
        end_conference_on_exit=bool(participant.end_conference_on_exit),
        start_conference_on_enter=bool(participant.start_conference_on_enter),
        date_created=participant.date_created,
    )


def update_participant(
    creds: AccountCredentials,
    conference_sid: str,
    call_sid_or_label: str,
    change: ParticipantChange,
    *,
    timeout: float,
) -> LiveParticipant:
    """Update Participant (mute, hold, coach, announce, exit settings); Twilio's answer."""
    try:
        participant = (
            _client(creds, timeout)
            .conferences(conference_sid)
            .participants(quote(call_sid_or_label, safe=""))
            .update(**change.sdk_kwargs())
        )
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return _live_participant(participant)


def delete_participant(
    creds: AccountCredentials, conference_sid: str, call_sid_or_label: str, *, timeout: float
) -> None:
    """Delete Participant: hangs up a connected participant, stops one still being dialed."""
    try:
        (
            _client(creds, timeout)
            .conferences(conference_sid)
            .participants(quote(call_sid_or_label, safe=""))
            .delete()
        )
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error


def list_participants(
    creds: AccountCredentials, conference_sid: str, *, timeout: float, limit: int = 250
) -> list[LiveParticipant]:
    """The conference's participants now (Twilio lists only calls still live)."""
    try:
        found = (
            _client(creds, timeout)
            .conferences(conference_sid)
            .participants.list(limit=limit, page_size=min(limit, 1000))
        )
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return [_live_participant(participant) for participant in found]


def update_conference(
    creds: AccountCredentials,
    conference_sid: str,
    *,
    timeout: float,
    status: str | None = None,
    announce_url: str | None = None,
    announce_method: str | None = None,
) -> ConferenceSummary:
    """Update Conference: Status=completed ends it for everyone; AnnounceUrl plays to all."""
    kwargs: dict[str, Any] = {
        name: value
        for name, value in (
            ("status", status),
            ("announce_url", announce_url),
            ("announce_method", announce_method),
        )
        if value is not None
    }
    try:
        conference = _client(creds, timeout).conferences(conference_sid).update(**kwargs)
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return _conference_summary(conference)


def fetch_conference(
    creds: AccountCredentials, conference_sid: str, *, timeout: float
) -> ConferenceSummary | None:
    """A conference by SID; None when Twilio has no such conference."""
    conference = _fetch_or_none(lambda: _client(creds, timeout).conferences(conference_sid).fetch())
    if conference is None:
        return None
    _answered_about(conference_sid, [conference.sid or ""], "conference")
    return _conference_summary(conference)


def fetch_call(creds: AccountCredentials, call_sid: str, *, timeout: float) -> CallDetails | None:
    """A call by SID; None when Twilio has no such call."""
    call = _fetch_or_none(lambda: _client(creds, timeout).calls(call_sid).fetch())
    if call is None:
        return None
    _answered_about(call_sid, [call.sid or ""], "call")
    return CallDetails(
        sid=call.sid or "",
        status=call.status or "",
        start_time=call.start_time,
        end_time=call.end_time,
        duration_seconds=_int_or_none(call.duration),
        answered_by=call.answered_by or "",
        date_updated=call.date_updated,
    )


def fetch_conference_details(
    creds: AccountCredentials, conference_sid: str, *, timeout: float
) -> ConferenceDetails | None:
    """A conference by SID with its dates; None when Twilio has no such conference."""
    conference = _fetch_or_none(lambda: _client(creds, timeout).conferences(conference_sid).fetch())
    if conference is None:
        return None
    _answered_about(conference_sid, [conference.sid or ""], "conference")
    return ConferenceDetails(
        sid=conference.sid or "",
        status=conference.status or "",
        reason_ended=conference.reason_conference_ended or "",
        call_sid_ending=conference.call_sid_ending_conference or "",
        date_created=conference.date_created,
        date_updated=conference.date_updated,
    )


def delete_recording(creds: AccountCredentials, recording_sid: str, *, timeout: float) -> bool:
    """Delete a recording at Twilio: True when deleted now, False when it was already gone."""
    try:
        _client(creds, timeout).recordings(recording_sid).delete()
    except TwilioRestException as error:
        if error.status == 404:
            return False
        raise _translate(error) from error
    except (TwilioException, requests.RequestException) as error:
        raise _translate(error) from error
    return True
