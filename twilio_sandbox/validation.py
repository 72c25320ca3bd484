"""Parameter parsing and validation, written from Twilio's Create Participant reference.

Every request arrives as form fields, each name mapped to all its values (list parameters
are repeated keys; Twilio also splits event lists on spaces). Parsers return frozen
dataclasses or raise `ApiError` with Twilio's code for the first problem found. Unknown
parameters are ignored, as Twilio ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final
from urllib.parse import urlsplit

from twilio_sandbox import errors
from twilio_sandbox.sids import CALL_SID

FormParams = Mapping[str, Sequence[str]]

METHODS: Final = frozenset({"GET", "POST"})
CALL_EVENTS: Final = frozenset({"initiated", "ringing", "answered", "completed"})
CONFERENCE_EVENTS: Final = frozenset(
    {"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"}
)
RECORDING_EVENTS: Final = frozenset(
    {"started", "in-progress", "paused", "resumed", "stopped", "completed", "failed", "absent"}
)
CONFERENCE_RECORDING_EVENTS: Final = frozenset({"in-progress", "completed", "failed", "absent"})
BEEP_VALUES: Final = ("true", "false", "onEnter", "onExit")
CONFERENCE_RECORD_VALUES: Final = ("true", "false", "record-from-start", "do-not-record")
TRIM_VALUES: Final = ("trim-silence", "do-not-trim")
RECORDING_CHANNELS: Final = ("mono", "dual")
RECORDING_TRACKS: Final = ("inbound", "outbound", "both")
REGIONS: Final = ("us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1")
JITTER_BUFFER_SIZES: Final = ("off", "small", "medium", "large")
MACHINE_DETECTION_VALUES: Final = ("Enable", "DetectMessageEnd")
CALL_STATUSES: Final = (
    "queued",
    "ringing",
    "in-progress",
    "canceled",
    "completed",
    "failed",
    "busy",
    "no-answer",
)
CONFERENCE_STATUSES: Final = ("init", "in-progress", "completed")

MAX_LABEL_LENGTH: Final = 128
PHONE_NUMBER = re.compile(r"^\+[1-9]\d{0,14}$")
CLIENT_ADDRESS = re.compile(r"^client:[A-Za-z0-9_.@-]+(\?.*)?$")
SIP_ADDRESS = re.compile(r"^sip:[^@\s]+@[A-Za-z0-9.-]+(:\d{1,5})?(;[^?\s]*)?(\?\S*)?$", re.I)
APP_ADDRESS = re.compile(r"^app:AP[0-9a-fA-F]{32}(\?.*)?$")
SIP_USERNAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
BYOC_SID = re.compile(r"^BY[0-9a-fA-F]{32}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9.-]+$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def endpoint_kind(address: str) -> str | None:
    """`phone`, `client`, `sip` or `app` for a valid To address, else None."""
    if PHONE_NUMBER.match(address):
        return "phone"
    if CLIENT_ADDRESS.match(address):
        return "client"
    if SIP_ADDRESS.match(address):
        return "sip"
    if APP_ADDRESS.match(address):
        return "app"
    return None


class FormReader:
    """Typed access to form fields; each accessor raises Twilio's error for its kind."""

    def __init__(self, params: FormParams) -> None:
        self._params = params

    def raw(self, name: str) -> str | None:
        values = self._params.get(name)
        # The first value wins when a scalar parameter is repeated.
        return values[0] if values else None

    def present(self, name: str) -> bool:
        return bool(self._params.get(name))

    def text(self, name: str, *, max_length: int | None = None, min_length: int = 0) -> str | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        if max_length is not None and len(value) > max_length:
            raise errors.invalid_parameter(f"{name} must be at most {max_length} characters")
        if len(value) < min_length:
            raise errors.invalid_parameter(f"{name} must be at least {min_length} characters")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise errors.invalid_parameter(f"{name} must be true or false, got {value!r}")
        return lowered == "true"

    def optional_boolean(self, name: str) -> bool | None:
        return self.boolean(name, False) if self.present(name) else None

    def integer(
        self,
        name: str,
        default: int,
        *,
        minimum: int,
        maximum: int,
        code: int = errors.BAD_REQUEST,
    ) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if not re.fullmatch(r"-?\d+", value.strip()):
            raise errors.bad_request(code, f"{name} must be an integer, got {value!r}")
        number = int(value)
        if not minimum <= number <= maximum:
            raise errors.bad_request(
                code, f"{name} must be between {minimum} and {maximum}, got {number}"
            )
        return number

    def choice(
        self, name: str, allowed: Sequence[str], default: str, *, code: int = errors.BAD_REQUEST
    ) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if value not in allowed:
            raise errors.bad_request(
                code, f"{name} must be one of {', '.join(allowed)}, got {value!r}"
            )
        return value

    def optional_choice(
        self, name: str, allowed: Sequence[str], *, code: int = errors.BAD_REQUEST
    ) -> str | None:
        if not self.present(name):
            return None
        return self.choice(name, allowed, "", code=code)

    def url(self, name: str, *, allow_empty: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if value == "" and allow_empty:
            return ""
        if not is_absolute_http_url(value):
            raise errors.bad_request(errors.INVALID_URL, f"{name} is not a valid URL: {value!r}")
        return value

    def method(self, name: str, default: str) -> str:
        value = self.raw(name)
        if value is None or value == "":
            return default
        if value.upper() not in METHODS:
            raise errors.bad_request(
                errors.INVALID_METHOD, f"{name} must be GET or POST, got {value!r}"
            )
        return value.upper()

    def events(self, name: str, allowed: Collection[str], default: Collection[str]) -> frozenset:
        values = self._params.get(name)
        if not values:
            return frozenset(default)
        chosen = {event for value in values for event in value.split()}
        unknown = sorted(chosen - set(allowed))
        if unknown:
            raise errors.invalid_parameter(
                f"{name} contains invalid values: {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        return frozenset(chosen)

    def pattern(self, name: str, regex: re.Pattern[str], description: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        if not regex.match(value):
            raise errors.invalid_parameter(f"{name} must be {description}, got {value!r}")
        return value


def is_absolute_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    del port  # only parsed so that a malformed port fails here
    host = parts.hostname or ""
    # Twilio rejects hostnames with underscores in callback URLs.
    return parts.scheme in ("http", "https") and bool(host) and bool(HOSTNAME.match(host))


@dataclass(frozen=True)
class CallbackSpec:
    """Where and how one kind of webhook goes, and for which events."""

    url: str
    method: str
    events: frozenset[str]

    def wants(self, event: str) -> bool:
        return event in self.events


def _callback(
    reader: FormReader,
    url_name: str,
    method_name: str,
    events_name: str | None,
    allowed: Collection[str],
    default_events: Collection[str],
) -> CallbackSpec | None:
    url = reader.url(url_name)
    method = reader.method(method_name, "POST")
    events = reader.events(events_name, allowed, default_events) if events_name else frozenset()
    return CallbackSpec(url, method, events) if url else None


@dataclass(frozen=True)
class MachineDetection:
    mode: str
    timeout: int
    speech_threshold: int
    speech_end_threshold: int
    silence_timeout: int
    callback: CallbackSpec | None


@dataclass(frozen=True)
class ParticipantRequest:
    """A validated Create Participant request (the seed's 46 body parameters)."""

    from_: str
    to: str
    to_kind: str
    caller_id: str | None
    caller_display_name: str | None  # only used for calls to SIP addresses
    call_reason: str | None
    label: str | None
    status_callback: CallbackSpec | None
    timeout: int
    time_limit: int
    record: bool
    recording_channels: str
    recording_track: str
    recording_callback: CallbackSpec | None
    muted: bool
    beep: str
    start_conference_on_enter: bool
    end_conference_on_exit: bool
    early_media: bool
    wait_url: str | None
    wait_method: str
    max_participants: int
    conference_record: str
    conference_trim: str
    conference_callback: CallbackSpec | None
    conference_recording_callback: CallbackSpec | None
    region: str | None
    jitter_buffer_size: str
    coaching: bool
    call_sid_to_coach: str | None
    byoc: str | None
    sip_auth_username: str | None
    sip_auth_password: str | None
    machine_detection: MachineDetection | None
    trim: str
    call_token: str | None
    client_notification_url: str | None

    @property
    def beep_on_exit(self) -> bool:
        return self.beep in ("true", "onExit")


def _endpoints(reader: FormReader) -> tuple[str, str, str]:
    to = reader.raw("To")
    if not to:
        raise errors.bad_request(errors.TO_REQUIRED, "A 'To' phone number is required.")
    from_ = reader.raw("From")
    if not from_:
        raise errors.bad_request(errors.FROM_REQUIRED, "A 'From' phone number is required.")
    to_kind = endpoint_kind(to)
    if to_kind is None:
        raise errors.bad_request(errors.INVALID_TO, f"The 'To' number {to} is not valid.")
    if not _valid_caller(from_, to_kind):
        raise errors.bad_request(
            errors.INVALID_FROM, f"The 'From' number {from_} is not valid for this 'To'."
        )
    return from_, to, to_kind


def _valid_caller(caller: str, to_kind: str) -> bool:
    if to_kind == "phone":
        return bool(PHONE_NUMBER.match(caller))
    if to_kind == "sip":
        return bool(PHONE_NUMBER.match(caller) or SIP_USERNAME.match(caller))
    return bool(PHONE_NUMBER.match(caller) or CLIENT_ADDRESS.match(caller))


def _label(reader: FormReader) -> str | None:
    label = reader.raw("Label")
    if not label:
        return None
    if len(label) > MAX_LABEL_LENGTH or "/" in label or re.fullmatch(r"CA[0-9a-f]{32}", label):
        raise errors.bad_request(
            errors.INVALID_LABEL,
            "Invalid participant label, must not exceed 128 characters, "
            "must not be a CallSid, must not contain '/'",
        )
    return label


def _machine_detection(reader: FormReader) -> MachineDetection | None:
    code = errors.INVALID_MACHINE_DETECTION
    mode = reader.optional_choice("MachineDetection", MACHINE_DETECTION_VALUES, code=code)
    detection = MachineDetection(
        mode=mode or "",
        timeout=reader.integer("MachineDetectionTimeout", 30, minimum=3, maximum=59, code=code),
        speech_threshold=reader.integer(
            "MachineDetectionSpeechThreshold", 2400, minimum=1000, maximum=6000, code=code
        ),
        speech_end_threshold=reader.integer(
            "MachineDetectionSpeechEndThreshold", 1200, minimum=500, maximum=5000, code=code
        ),
        silence_timeout=reader.integer(
            "MachineDetectionSilenceTimeout", 5000, minimum=2000, maximum=10000, code=code
        ),
        callback=_callback(reader, "AmdStatusCallback", "AmdStatusCallbackMethod", None, (), ()),
    )
    return detection if mode else None


def parse_participant_create(params: FormParams) -> ParticipantRequest:
    """Validate a Create Participant body; raise the error Twilio would give first."""
    reader = FormReader(params)
    from_, to, to_kind = _endpoints(reader)
    caller_id = reader.text("CallerId")
    if caller_id is not None and not _valid_caller(caller_id, to_kind):
        raise errors.bad_request(errors.INVALID_FROM, f"The CallerId {caller_id} is not valid.")
    label = _label(reader)

    status_callback = _callback(
        reader,
        "StatusCallback",
        "StatusCallbackMethod",
        "StatusCallbackEvent",
        CALL_EVENTS,
        {"completed"},
    )
    recording_callback = _callback(
        reader,
        "RecordingStatusCallback",
        "RecordingStatusCallbackMethod",
        "RecordingStatusCallbackEvent",
        RECORDING_EVENTS,
        {"completed"},
    )
    conference_callback = _callback(
        reader,
        "ConferenceStatusCallback",
        "ConferenceStatusCallbackMethod",
        "ConferenceStatusCallbackEvent",
        CONFERENCE_EVENTS,
        {"start", "end"},
    )
    conference_recording_callback = _callback(
        reader,
        "ConferenceRecordingStatusCallback",
        "ConferenceRecordingStatusCallbackMethod",
        "ConferenceRecordingStatusCallbackEvent",
        CONFERENCE_RECORDING_EVENTS,
        {"completed"},
    )

    call_sid_to_coach = reader.pattern("CallSidToCoach", CALL_SID, "a Call SID (CA + 32 hex)")
    coaching = reader.boolean("Coaching", call_sid_to_coach is not None)
    if coaching and call_sid_to_coach is None:
        raise errors.bad_request(
            errors.COACHED_PARTICIPANT_ABSENT, "Coaching=true requires CallSidToCoach"
        )

    sip_auth_username = reader.text("SipAuthUsername")
    sip_auth_password = reader.text("SipAuthPassword")
    if (sip_auth_username or sip_auth_password) and to_kind != "sip":
        raise errors.invalid_parameter(
            "SipAuthUsername and SipAuthPassword are only valid when To is a SIP address"
        )

    return ParticipantRequest(
        from_=from_,
        to=to,
        to_kind=to_kind,
        caller_id=caller_id,
        # Twilio ignores a display name for other destinations, but checks its length.
        caller_display_name=reader.text("CallerDisplayName", min_length=2, max_length=255),
        call_reason=reader.text("CallReason", max_length=255),
        label=label,
        status_callback=status_callback,
        timeout=reader.integer("Timeout", 60, minimum=5, maximum=600),
        time_limit=reader.integer("TimeLimit", 14400, minimum=1, maximum=86400),
        record=reader.boolean("Record", False),
        recording_channels=reader.choice("RecordingChannels", RECORDING_CHANNELS, "mono"),
        recording_track=reader.choice("RecordingTrack", RECORDING_TRACKS, "both"),
        recording_callback=recording_callback,
        muted=reader.boolean("Muted", False),
        beep=reader.choice("Beep", BEEP_VALUES, "true"),
        start_conference_on_enter=reader.boolean("StartConferenceOnEnter", True),
        end_conference_on_exit=reader.boolean("EndConferenceOnExit", False),
        early_media=reader.boolean("EarlyMedia", True),
        wait_url=reader.url("WaitUrl", allow_empty=True),
        wait_method=reader.method("WaitMethod", "POST"),
        max_participants=reader.integer("MaxParticipants", 250, minimum=2, maximum=250),
        conference_record=reader.choice("ConferenceRecord", CONFERENCE_RECORD_VALUES, "false"),
        conference_trim=reader.choice("ConferenceTrim", TRIM_VALUES, "trim-silence"),
        conference_callback=conference_callback,
        conference_recording_callback=conference_recording_callback,
        region=reader.optional_choice("Region", REGIONS),
        jitter_buffer_size=reader.choice("JitterBufferSize", JITTER_BUFFER_SIZES, "large"),
        coaching=coaching,
        call_sid_to_coach=call_sid_to_coach,
        byoc=reader.pattern("Byoc", BYOC_SID, "a BYOC trunk SID (BY + 32 hex)"),
        sip_auth_username=sip_auth_username,
        sip_auth_password=sip_auth_password,
        machine_detection=_machine_detection(reader),
        trim=reader.choice("Trim", TRIM_VALUES, "trim-silence"),
        call_token=reader.text("CallToken"),
        client_notification_url=reader.url("ClientNotificationUrl"),
    )


@dataclass(frozen=True)
class ParticipantUpdate:
    """Fields absent from the request stay None (unchanged)."""

    muted: bool | None
    hold: bool | None
    hold_url: str | None
    hold_method: str | None
    announce_url: str | None
    announce_method: str | None
    wait_url: str | None
    wait_method: str | None
    beep_on_exit: bool | None
    end_conference_on_exit: bool | None
    coaching: bool | None
    call_sid_to_coach: str | None


def parse_participant_update(params: FormParams) -> ParticipantUpdate:
    reader = FormReader(params)
    muted_value = reader.raw("Muted")
    return ParticipantUpdate(
        # Documented: any Muted value other than true/false is read as false.
        muted=None if muted_value is None else muted_value.lower() == "true",
        hold=reader.optional_boolean("Hold"),
        hold_url=reader.url("HoldUrl", allow_empty=True),
        hold_method=reader.method("HoldMethod", "GET") if reader.present("HoldMethod") else None,
        announce_url=reader.url("AnnounceUrl"),
        announce_method=(
            reader.method("AnnounceMethod", "POST") if reader.present("AnnounceMethod") else None
        ),
        wait_url=reader.url("WaitUrl", allow_empty=True),
        wait_method=reader.method("WaitMethod", "POST") if reader.present("WaitMethod") else None,
        beep_on_exit=reader.optional_boolean("BeepOnExit"),
        end_conference_on_exit=reader.optional_boolean("EndConferenceOnExit"),
        coaching=reader.optional_boolean("Coaching"),
        call_sid_to_coach=reader.pattern("CallSidToCoach", CALL_SID, "a Call SID (CA + 32 hex)"),
    )


@dataclass(frozen=True)
class ConferenceUpdate:
    status: str | None
    announce_url: str | None
    announce_method: str


def parse_conference_update(params: FormParams) -> ConferenceUpdate:
    reader = FormReader(params)
    return ConferenceUpdate(
        status=reader.optional_choice("Status", ("completed",)),
        announce_url=reader.url("AnnounceUrl"),
        announce_method=reader.method("AnnounceMethod", "POST"),
    )


def parse_call_update(params: FormParams) -> str | None:
    """The only Call update the sandbox plays: Status=canceled|completed."""
    return FormReader(params).optional_choice("Status", ("canceled", "completed"))


@dataclass(frozen=True)
class PageRequest:
    page_size: int
    page: int
    page_token: str | None


def parse_page(params: FormParams) -> PageRequest:
    reader = FormReader(params)
    return PageRequest(
        page_size=reader.integer("PageSize", 50, minimum=1, maximum=1000),
        page=reader.integer("Page", 0, minimum=0, maximum=10**9),
        page_token=reader.text("PageToken"),
    )


@dataclass(frozen=True)
class TimeBound:
    """One `Name`, `Name<` or `Name>` filter: a day (YYYY-MM-DD) or an instant."""

    operator: str
    moment: date | datetime

    def admits(self, value: datetime | None) -> bool:
        if value is None:
            return False
        # `Name=` always means that day (the SDK sends dates as midnight datetimes);
        # `Name<`/`Name>` with a time compare instants, with a bare date compare days.
        if isinstance(self.moment, datetime) and self.operator != "=":
            return _compare(self.operator, value.replace(microsecond=0), self.moment)
        day = self.moment.date() if isinstance(self.moment, datetime) else self.moment
        return _compare(self.operator, value.astimezone(UTC).date(), day)


def _compare(operator: str, left: date, right: date) -> bool:
    comparisons: dict[str, Callable[[date, date], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a <= b,
        ">": lambda a, b: a >= b,
    }
    return comparisons[operator](left, right)


def parse_time_bounds(params: FormParams, name: str) -> list[TimeBound]:
    """`DateCreated=2024-01-31`, `DateCreated<=…` (sent as key `DateCreated<`), `…>=`."""
    bounds = []
    reader = FormReader(params)
    for suffix, operator in (("", "="), ("<", "<"), (">", ">")):
        value = reader.text(name + suffix)
        if value is None:
            continue
        bounds.append(TimeBound(operator, _parse_moment(name + suffix, value)))
    return bounds


def _parse_moment(name: str, value: str) -> date | datetime:
    try:
        if DAY.match(value):
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid_parameter(
            f"{name} must be a date (YYYY-MM-DD), got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
