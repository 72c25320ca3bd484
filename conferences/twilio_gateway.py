"""The only module that talks to Twilio (through the official SDK).

Typed functions in, our own dataclasses out. Every Twilio or transport failure becomes a
GatewayError that says whether a retry can help and whether the request may have taken
effect at Twilio (the hard case for exactly-once dialing).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    return None if participant is None else _participant_summary(participant)


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


# --- Live conference controls (issue 11: used by conferences/live.py) -------------------
# Participants are addressed by CallSid or Label; both go into the URL encoded.


@dataclass(frozen=True)
class LiveParticipant:
    """A participant as Twilio's Participant resource describes it now."""

    call_sid: str
    label: str
    status: str  # queued | connecting | ringing | connected | complete | failed
    muted: bool
    hold: bool
    coaching: bool
    call_sid_to_coach: str
    end_conference_on_exit: bool
    start_conference_on_enter: bool
    date_created: datetime | None


@dataclass(frozen=True)
class ParticipantChange:
    """Participant update parameters; None leaves a setting as it is (not sent)."""

    muted: bool | None = None
    hold: bool | None = None
    hold_url: str | None = None
    hold_method: str | None = None
    announce_url: str | None = None
    announce_method: str | None = None
    beep_on_exit: bool | None = None
    end_conference_on_exit: bool | None = None
    coaching: bool | None = None
    call_sid_to_coach: str | None = None

    def sdk_kwargs(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not None}


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
    return None if conference is None else _conference_summary(conference)


# --- End of live conference controls -----------------------------------------------------


# --- Operations: reconciliation and retention (issue 12: conferences/reconcile.py, ---
# --- conferences/retention.py) ---------------------------------------------------------


@dataclass(frozen=True)
class CallDetails:
    """A call as Twilio's Call resource describes it now (no numbers: nobody here needs them)."""

    sid: str
    status: str  # queued | initiated | ringing | in-progress | completed | busy | failed | …
    start_time: datetime | None  # when the call started (at or before the answer)
    end_time: datetime | None
    duration_seconds: int | None  # empty for unanswered and ongoing calls
    answered_by: str
    date_updated: datetime | None


@dataclass(frozen=True)
class ConferenceDetails:
    """A conference as Twilio's Conference resource describes it now, with its times."""

    sid: str
    status: str  # init | in-progress | completed
    reason_ended: str
    call_sid_ending: str
    date_created: datetime | None
    date_updated: datetime | None  # for a completed conference: when it ended


def fetch_call(creds: AccountCredentials, call_sid: str, *, timeout: float) -> CallDetails | None:
    """A call by SID; None when Twilio has no such call."""
    call = _fetch_or_none(lambda: _client(creds, timeout).calls(call_sid).fetch())
    if call is None:
        return None
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


# --- End of operations ------------------------------------------------------------------


# --- Recording media (issue 9: used by conferences/recordings.py) -----------------------

_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
TWILIO_API_BASE_URL = "https://api.twilio.com"
MEDIA_CHUNK_BYTES = 64 * 1024


class MediaStream:
    """The bytes of an open download; iterate once, and close it (Django's streaming
    responses call close() when done, even when the client went away)."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_content(chunk_size=MEDIA_CHUNK_BYTES)

    def close(self) -> None:
        self._response.close()


@dataclass(frozen=True)
class RecordingMedia:
    status: int  # 200, or 206 for a byte range
    content_type: str
    content_length: int | None
    content_range: str
    stream: MediaStream


def recording_media_url(creds: AccountCredentials, recording_sid: str) -> str:
    """Where Twilio serves a recording's MP3: its RecordingUrl plus `.mp3`."""
    if not _RECORDING_SID.fullmatch(recording_sid):
        raise GatewayError(f"not a recording SID: {recording_sid[:40]!r}", retryable=False)
    base = (creds.api_base_url or TWILIO_API_BASE_URL).rstrip("/")
    return f"{base}/2010-04-01/Accounts/{creds.account_sid}/Recordings/{recording_sid}.mp3"


def open_recording_media(
    creds: AccountCredentials, recording_sid: str, *, byte_range: str = "", timeout: float
) -> RecordingMedia:
    """GET a recording's MP3 with the account's credentials, streamed (never read whole).

    `byte_range` is a validated `bytes=…` header value, passed on so players can seek.
    Twilio may redirect to its media host; requests drops the credentials when it does.
    """
    headers = {"Accept": "audio/mpeg"}
    if byte_range:
        headers["Range"] = byte_range
    try:
        response = requests.get(
            recording_media_url(creds, recording_sid),
            auth=(creds.username, creds.password),
            headers=headers,
            stream=True,
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise _translate(error) from error
    if response.status_code not in (200, 206):
        raise _media_error(response)
    length = response.headers.get("Content-Length", "")
    return RecordingMedia(
        status=response.status_code,
        content_type=response.headers.get("Content-Type", "audio/mpeg"),
        content_length=int(length) if length.isdigit() else None,
        content_range=response.headers.get("Content-Range", ""),
        stream=MediaStream(response),
    )


def _media_error(response: requests.Response) -> GatewayError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    finally:
        response.close()
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    return GatewayError(
        str(body.get("message") or f"Twilio answered {status} for the recording"),
        code=code if isinstance(code, int) else None,
        status=status,
        more_info=str(body.get("more_info") or ""),
        retryable=status == 429 or status >= 500,
    )
