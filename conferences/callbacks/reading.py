"""Reading a callback's parameters into typed values, and finding the dial and conference it
concerns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from conferences.callbacks.meaning import (
    _INT_MAX,
    CONFERENCE_EVENTS,
    EVENT_PARAMETER,
    REQUIRED_PARAMETERS,
    Params,
    is_known_value,
)
from conferences.core.sids import SID_PARAMETERS
from conferences.models import (
    CallbackKind,
    Conference,
    DialRequest,
)

# --- Reading a callback ---------------------------------------------------------------


class MalformedCallback(ValueError):
    """The callback lacks (or garbles) an identifier its kind needs."""

    def __init__(self, kind: str, problems: Sequence[str]) -> None:
        super().__init__(f"{kind} callback: {', '.join(problems)}")
        self.problems = list(problems)


def param_value(params: Params, name: str) -> str:
    """A parameter's value; of a repeated name the last, as QueryDict and CallbackEvent.param."""
    value = params.get(name, "")
    if isinstance(value, str):
        return value
    return str(value[-1]) if value else ""


def _int_or_none(value: str) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if -_INT_MAX <= number <= _INT_MAX else None


def _bool_or_none(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value.strip().lower())


def _timestamp_or_none(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" means "UTC, zone unknown" in RFC 2822; Python returns it naive.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Reading:
    """The parts of one callback this app acts on, read once from its parameters."""

    kind: str
    params: Params
    account_sid: str
    event: str
    call_sid: str
    conference_sid: str
    recording_sid: str
    label: str
    sequence_number: int | None
    timestamp: datetime | None

    @property
    def known(self) -> bool:
        return is_known_value(self.kind, self.event)

    def param(self, name: str) -> str:
        return param_value(self.params, name)

    def int_param(self, name: str) -> int | None:
        return _int_or_none(self.param(name))

    def bool_param(self, name: str) -> bool | None:
        return _bool_or_none(self.param(name))

    def dedupe_key(self) -> str:
        """Equal for two deliveries of one callback, different for two callbacks."""
        if self.kind in (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING):
            parts = [self.kind, self.recording_sid, self.event]
        elif self.kind == CallbackKind.AMD:
            parts = [self.kind, self.call_sid, self.event]
        else:
            subject = (
                self.call_sid if self.kind == CallbackKind.CALL_STATUS else self.conference_sid
            )
            # Without a SequenceNumber the Timestamp tells two callbacks apart.
            order = str(self.sequence_number) if self.sequence_number is not None else ""
            moment = "" if order else self.param("Timestamp")
            parts = [self.kind, subject, order, self.event, self.call_sid, moment]
        key = ":".join(parts)
        if len(key) > 200:  # an odd, very long value must still fit the unique column
            key = f"{self.kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
        return key


def read_callback(kind: str, params: Params) -> Reading:
    """Read a callback's parameters; MalformedCallback when its identifiers are missing."""
    problems = [
        f"{name} missing" for name in REQUIRED_PARAMETERS[kind] if not param_value(params, name)
    ]
    for name, pattern in SID_PARAMETERS.items():
        value = param_value(params, name)
        if value and not pattern.fullmatch(value):
            problems.append(f"{name} is not a SID")
    if problems:
        raise MalformedCallback(kind, problems)
    return Reading(
        kind=kind,
        params=params,
        account_sid=param_value(params, "AccountSid"),
        event=param_value(params, EVENT_PARAMETER[kind]),
        call_sid=param_value(params, "CallSid"),
        conference_sid=param_value(params, "ConferenceSid"),
        recording_sid=param_value(params, "RecordingSid"),
        label=param_value(params, "ParticipantLabel"),
        sequence_number=_int_or_none(param_value(params, "SequenceNumber")),
        timestamp=_timestamp_or_none(param_value(params, "Timestamp")),
    )


# --- Correlation ----------------------------------------------------------------------

_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Correlation:
    dial: DialRequest | None  # the dial the event is about (None: conference-wide or unknown)
    conference: Conference | None
    url_dial: DialRequest | None  # the dial the URL names: its relay targets apply
    orphaned: bool  # the URL names no dial of the signing account


def _is_about_a_participant(reading: Reading) -> bool:
    meaning = CONFERENCE_EVENTS.get(reading.event)
    if meaning is not None:
        return meaning.participant
    return bool(reading.call_sid or reading.label)  # an event we don't know yet


class Lookups:
    """How correlation finds rows: straight from the database (this class), or from what a
    batch read at once (`batch_lookups.BatchLookups`, the same answers in fewer queries)."""

    def url_dial(self, dial_id: int, account_sid: str) -> DialRequest | None:
        return (
            DialRequest.objects.select_related("conference")
            .filter(pk=dial_id, account__account_sid=account_sid)
            .first()
        )

    def conference_by_sid(self, account_sid: str, sid: str) -> Conference | None:
        return Conference.objects.filter(account__account_sid=account_sid, sid=sid).first()

    def dial_by_call_sid(self, account_sid: str, call_sid: str) -> DialRequest | None:
        return (
            DialRequest.objects.select_related("conference")
            .filter(account__account_sid=account_sid, call_sid=call_sid)
            .first()
        )

    def dial_by_label(self, conference: Conference, label: str) -> DialRequest | None:
        return conference.dials.filter(label=label).first()


def correlate(reading: Reading, dial_id_in_url: int, lookups: Lookups | None = None) -> Correlation:
    """Find the dial and conference a callback is about, even before the CallSid is stored.

    The URL's dial id comes first, then ParticipantLabel within that dial's conference,
    then the CallSid. A dial of another account never matches.
    """
    find = lookups or Lookups()
    url_dial = None
    if 0 < dial_id_in_url <= _BIGINT_MAX:
        url_dial = find.url_dial(dial_id_in_url, reading.account_sid)

    conference: Conference | None = None
    if url_dial is not None:
        own = url_dial.conference
        if not reading.conference_sid or own.sid in (None, reading.conference_sid):
            conference = own
    if conference is None and reading.conference_sid:
        conference = find.conference_by_sid(reading.account_sid, reading.conference_sid)

    dial: DialRequest | None = None
    if reading.kind == CallbackKind.CONFERENCE_RECORDING:
        pass  # about the whole conference
    elif reading.kind == CallbackKind.CONFERENCE:
        # Twilio calls the first participant's conference URL about every participant.
        if _is_about_a_participant(reading):
            if reading.label and conference is not None:
                dial = find.dial_by_label(conference, reading.label)
            if dial is None and reading.call_sid:
                dial = find.dial_by_call_sid(reading.account_sid, reading.call_sid)
    elif url_dial is not None and url_dial.call_sid in ("", reading.call_sid):
        dial = url_dial
    else:
        by_call_sid = (
            find.dial_by_call_sid(reading.account_sid, reading.call_sid)
            if reading.call_sid
            else None
        )
        dial = by_call_sid or url_dial
    if dial is not None and conference is None:
        conference = dial.conference
    return Correlation(
        dial=dial, conference=conference, url_dial=url_dial, orphaned=url_dial is None
    )
