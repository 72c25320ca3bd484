"""Derive ``create_participant.json`` from the seed page (shared/seed/CreateParticipant.html)
and Twilio's official OpenAPI description of the same operation (vendored beside it).

The seed is an HTML rendering of Twilio's OpenAPI operation as the product was specified:
the request body's JSON schema sits in ``<pre class="schema">``, and much of what matters
(value lists, ranges, defaults) lives only in the descriptions' prose. ``build_schema``
parses both; a small explicit table (``PARAMETER_FACTS``, ``FORMAT_FACTS``, ``REQUIREMENTS``,
``NOTES``) adds what Twilio's documentation says and the seed does not, each entry with its
URL or quote and a reason.

Twilio's current description has parameters the seed does not (``ONLY_IN_TWILIO_OAI``):
they are built from it, schema and prose alike, with ``twilio-oai`` as their source. Where
both have a parameter and say different things, the parameter records the difference in
``twilio_oai_differences``. A parameter in one and not the other, other than those named,
is a build error: the schema follows both, so neither may drift unnoticed.

Precedence for a constraint: twilio-docs over seed-prose over seed-schema. Whenever the
winner disagrees with what the seed says (or adds what the seed leaves open), the parameter
gets a ``deviations`` entry; a table fact without a reason is a build error.
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

from conferences.schema import GROUPS, SCHEMA_PATH, SourceName
from conferences.schema.twilio_oai import (
    TWILIO_OAI_FILE,
    TWILIO_OAI_PATH,
    TWILIO_OAI_REPOSITORY,
    TwilioOaiError,
    TwilioOperation,
    read_operation,
)

SEED_SCHEMA: Final[SourceName] = "seed-schema"
SEED_PROSE: Final[SourceName] = "seed-prose"
TWILIO_OAI: Final[SourceName] = "twilio-oai"
TWILIO_DOCS: Final[SourceName] = "twilio-docs"

SEED_PARAMETER_COUNT: Final = 46
EXPECTED_PARAMETER_COUNT: Final = 50

# The seed lives next to the repository: <parent>/shared/seed/ beside <parent>/main/.
DEFAULT_SEED_PATH: Final = (
    Path(__file__).resolve().parents[3] / "shared" / "seed" / "CreateParticipant.html"
)

TWILIO_OAI_URL: Final = (
    "https://github.com/twilio/twilio-oai/blob/main/spec/json/twilio_api_v2010.json"
)
TWILIO_PYTHON_PARTICIPANT_URL: Final = (
    "https://github.com/twilio/twilio-python/blob/main/"
    "twilio/rest/api/v2010/account/conference/participant.py"
)


class SchemaBuildError(Exception):
    """The seed does not look like what the builder knows how to read."""


# --- Reading the HTML ------------------------------------------------------------------


class _SeedParser(HTMLParser):
    """Collects the text of the elements the builder needs, by CSS class, in page order."""

    WANTED: Final = frozenset(
        {
            "schema",
            "request-summary",
            "request-line",
            "http-target",
            "parameter-name",
            "parameter-location",
            "parameter-type",
            "parameter-required",
        }
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._open: tuple[str, str, int] | None = None  # (class, tag, nesting depth)
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._open is not None:
            wanted, open_tag, depth = self._open
            if tag == open_tag:
                self._open = (wanted, open_tag, depth + 1)
            return
        classes = (dict(attrs).get("class") or "").split()
        wanted_here = [c for c in classes if c in self.WANTED]
        if wanted_here:
            self._open = (wanted_here[0], tag, 1)
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if self._open is None:
            return
        wanted, open_tag, depth = self._open
        if tag != open_tag:
            return
        if depth > 1:
            self._open = (wanted, open_tag, depth - 1)
            return
        self.found.append((wanted, "".join(self._text)))
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)


@dataclass(frozen=True)
class SeedPage:
    operation: str
    method: str
    path: str
    path_parameters: tuple[Mapping[str, Any], ...]
    request_schema: Mapping[str, Any]


def read_seed(seed_html: str) -> SeedPage:
    parser = _SeedParser()
    parser.feed(seed_html)
    parser.close()
    texts: dict[str, list[str]] = {}
    for css_class, text in parser.found:
        texts.setdefault(css_class, []).append(text.strip())

    schema_blocks = texts.get("schema", [])
    if len(schema_blocks) != 1:
        raise SchemaBuildError(f'expected one <pre class="schema">, found {len(schema_blocks)}')
    try:
        request_schema = json.loads(schema_blocks[0])
    except json.JSONDecodeError as error:
        raise SchemaBuildError(f"the schema block is not JSON: {error}") from error
    if not isinstance(request_schema, dict) or "properties" not in request_schema:
        raise SchemaBuildError("the schema block has no properties")

    # The seed prints the path with backslashes; Twilio's path uses slashes.
    path = texts.get("http-target", [""])[0].replace("\\", "/")
    names = texts.get("parameter-name", [])
    locations = texts.get("parameter-location", [])
    types = texts.get("parameter-type", [])
    required = texts.get("parameter-required", [])
    path_parameters = tuple(
        {
            "name": name,
            "in": location,
            "type": type_,
            "required": index < len(required) and required[index] == "required",
        }
        for index, (name, location, type_) in enumerate(zip(names, locations, types, strict=True))
    )
    return SeedPage(
        operation=texts.get("request-summary", [""])[0],
        method=texts.get("request-line", [""])[0],
        path=path,
        path_parameters=path_parameters,
        request_schema=request_schema,
    )


# --- Reading the prose -----------------------------------------------------------------

_QUOTED_VALUE = r"`[^`]+`"
# ", " / ", and " / ", or " / " and " / " or " between back-quoted values.
_LIST_SEPARATOR = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)"
_CAN_BE = re.compile(rf"Can be:?\s*(?P<list>{_QUOTED_VALUE}(?:{_LIST_SEPARATOR}{_QUOTED_VALUE})*)")
_DEFAULTS = (
    # "The default value is `true`", "the default is `POST`", "defaults to `start end`",
    # "Default to `large`"
    re.compile(r"(?:[Tt]he default(?: value)? is|[Dd]efaults? to)\s*`(?P<value>[^`]+)`"),
    # "Default: 5000."
    re.compile(r"Default:\s*(?P<value>\d+)"),
    # "The default timeout is 30 seconds."
    re.compile(r"[Tt]he default (?:\w+ )?is (?P<value>\d+)\b"),
)
# "The default value is the URL of our standard hold music." (not a value one can send)
_DEFAULT_LABEL = re.compile(r"[Tt]he default value is (?P<label>the [^.`]+)\.")
_RANGES = (
    re.compile(r"between `(?P<min>\d+)` and `(?P<max>\d+)`"),  # Timeout
    re.compile(r"from `(?P<min>\d+)` to `(?P<max>\d+)`"),  # MaxParticipants
    re.compile(r"Possible Values:\s*(?P<min>\d+)\s*-\s*(?P<max>\d+)"),  # machine detection
)
_SPACE_SEPARATED = re.compile(r"Separate multiple values with a space")
# "Must be between 2 and 255 characters." (CallerDisplayName)
_LENGTHS = re.compile(r"[Mm]ust be between (?P<min>\d+) and (?P<max>\d+) characters")
_SID_PATTERN = re.compile(r"^\^(?P<prefix>[A-Z]{2})\[0-9a-fA-F\]\{32\}\$$")


@dataclass(frozen=True)
class Prose:
    """What the builder reads from one description."""

    values: list[str] | None = None
    values_quote: str | None = None
    default: str | None = None
    default_quote: str | None = None
    default_label: str | None = None
    default_label_quote: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    range_quote: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    length_quote: str | None = None
    space_separated_quote: str | None = None


def read_prose(description: str) -> Prose:
    found: dict[str, Any] = {}
    if match := _CAN_BE.search(description):
        found["values"] = re.findall(r"`([^`]+)`", match.group("list"))
        found["values_quote"] = match.group(0)
    for pattern in _DEFAULTS:
        if match := pattern.search(description):
            found["default"] = match.group("value")
            found["default_quote"] = match.group(0)
            break
    else:
        if match := _DEFAULT_LABEL.search(description):
            found["default_label"] = match.group("label")
            found["default_label_quote"] = match.group(0)
    for pattern in _RANGES:
        if match := pattern.search(description):
            found["minimum"] = int(match.group("min"))
            found["maximum"] = int(match.group("max"))
            found["range_quote"] = match.group(0)
            break
    if match := _LENGTHS.search(description):
        found["min_length"] = int(match.group("min"))
        found["max_length"] = int(match.group("max"))
        found["length_quote"] = match.group(0)
    if match := _SPACE_SEPARATED.search(description):
        found["space_separated_quote"] = match.group(0)
    return Prose(**found)


# --- What the seed cannot tell: the explicit table -------------------------------------


@dataclass(frozen=True)
class Fact:
    """One constraint the prose parser cannot get, with where it comes from and why."""

    value: Any
    source: SourceName
    reason: str
    url: str | None = None
    quote: str | None = None


_HTTP_METHODS = Fact(
    value=["GET", "POST"],
    source=TWILIO_DOCS,
    reason=(
        "The seed's enum lists HEAD, GET, POST, PATCH, PUT and DELETE, but Twilio requests "
        "callback and hold-music URLs with GET or POST only; its current OpenAPI spec "
        "narrows the enum to these two, and the seed's own description says the same."
    ),
    url=TWILIO_OAI_URL,
    quote='"format": "http-method", "enum": ["GET", "POST"]',
)

_REPEATED_KEYS = Fact(
    value="repeated-keys",
    source=TWILIO_DOCS,
    reason=(
        "The seed's description asks for space-separated values, but twilio-python sends "
        "a list as one form key per value, which Twilio accepts; the form keeps a list."
    ),
    url=TWILIO_PYTHON_PARTICIPANT_URL,
    quote='"StatusCallbackEvent": serialize.map(status_callback_event, lambda e: e)',
)

_AMD_TIMEOUT_RANGE = Fact(
    value=None,
    source=TWILIO_DOCS,
    reason="Neither the seed nor Twilio's OpenAPI description gives a range; Twilio refuses "
    "values outside 3 to 59 with error 21234, after the dial was queued.",
    url="https://www.twilio.com/docs/api/errors/21234",
    quote="MachineDetectionTimeout between 3 and 59",
)

FORMAT_FACTS: Final[Mapping[str, Mapping[str, Fact]]] = {
    "http-method": {"values": _HTTP_METHODS},
}

PARAMETER_FACTS: Final[Mapping[str, Mapping[str, Fact]]] = {
    "Label": {
        "max_length": Fact(
            value=128,
            source=TWILIO_DOCS,
            reason="The seed gives no limit; Twilio rejects longer labels (error 16023/16024).",
            url="https://www.twilio.com/docs/api/errors/16023",
            quote="It may not exceed 128 characters, it may not be a CallSid, and it may not "
            "contain a '/' (even in URL encoded form %2F).",
        ),
        "pattern": Fact(
            value=r"^(?!CA[0-9a-f]{32}$)(?!.*%2[Ff])[^/]*$",
            source=TWILIO_DOCS,
            reason="Labels address the participant in later URLs, so Twilio rejects a '/' "
            "(also as %2F) and labels shaped like a CallSid; the seed says nothing.",
            url="https://www.twilio.com/docs/api/errors/16023",
            quote='resembles a CallSid ("CA" followed by 32 lowercase hexadecimal '
            "characters), or contains the '/' character or URL encoded '/' character (%2F)",
        ),
        "pattern_message": Fact(
            value="A label cannot contain “/” (or %2F) and cannot look like a Call SID.",
            source=TWILIO_DOCS,
            reason="Says in words what the label pattern forbids.",
            url="https://www.twilio.com/docs/api/errors/16023",
        ),
    },
    "TimeLimit": {
        "min": Fact(
            value=60,
            source=TWILIO_DOCS,
            reason="The seed only says 'Constraints depend on account and configuration'; "
            "Twilio documents a per-call limit from one minute to 24 hours.",
            url="https://www.twilio.com/en-us/blog/introducing-configurable-call-limits-for-programmable-voice",
            quote="You can use any value between just one minute, all the way up to that "
            "24 hour limit.",
        ),
        "max": Fact(
            value=86400,
            source=TWILIO_DOCS,
            reason="24 hours is the longest call Twilio allows; the account limit may be lower.",
            url="https://www.twilio.com/en-us/blog/introducing-configurable-call-limits-for-programmable-voice",
            quote="we've extended the maximum Voice call duration on Programmable Voice calls "
            "from just four hours to a whopping 24 hours.",
        ),
        "default_label": Fact(
            value="the account's call limit (4 hours unless raised in Console)",
            source=TWILIO_DOCS,
            reason="Without TimeLimit the account-wide limit applies; the seed names none.",
            url="https://www.twilio.com/en-us/blog/introducing-configurable-call-limits-for-programmable-voice",
            quote="Default Call Limits can be extended to 24 hours on a per-account basis in "
            "your Twilio Console.",
        ),
    },
    "CallReason": {
        "max_length": Fact(
            value=64,
            source=TWILIO_DOCS,
            reason="The seed gives no limit; Branded Calling shows at most 64 characters.",
            url="https://www.twilio.com/docs/voice/branded-calling/us-enhanced",
            quote="Call reason: Maximum 64 characters",
        ),
    },
    "Region": {
        "values": Fact(
            value=["us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1"],
            source=TWILIO_DOCS,
            reason="Twilio's current spec adds the us2 region to the seed's seven.",
            url=TWILIO_OAI_URL,
            quote="Can be:`us1`, `us2`, `ie1`, `de1`, `sg1`, `br1`, `au1`, or `jp1`.",
        ),
    },
    "MachineDetectionTimeout": {
        "min": dataclasses.replace(_AMD_TIMEOUT_RANGE, value=3),
        "max": dataclasses.replace(_AMD_TIMEOUT_RANGE, value=59),
    },
    "CallerId": {
        "format": Fact(
            value="endpoint",
            source=SEED_PROSE,
            reason="The seed's schema gives CallerId no format, but its description names "
            "the forms From takes; the form validates it as an endpoint like From.",
            quote="The phone number, Client identifier, or username portion of SIP address "
            "that made this call.",
        ),
    },
}

# Per-parameter notes: what the page or the gateway should know beyond the constraints.
NOTES: Final[Mapping[str, str]] = {
    "From": "Must be a Twilio number or a verified caller ID of the account (error 21210); "
    "only a phone number when To is one; a SIP username when To is a sip: address.",
    "To": "Phone numbers are normalised to E.164. The current Twilio spec also accepts "
    "app:<AP SID> (TwiML App) destinations, which the seed does not list and the form refuses.",
    "CallerId": "Same forms as From; a SIP username only when To is a sip: address.",
    "Coaching": "Twilio's default is false unless CallSidToCoach is set.",
    "MachineDetection": "Ignored by Twilio when SendDigits is given (not a Create Participant "
    "parameter in the seed).",
    "MachineDetectionTimeout": "The range is Twilio's error 21234 page's: the seed and the "
    "OpenAPI description give none.",
    "Trim": "Trims the participant recording that Record=true starts (ConferenceTrim is the "
    "conference recording's).",
    "CallerDisplayName": "The display name in the SIP From header; Twilio applies it only to "
    "calls to a sip: address, so the form refuses it for other destinations.",
    "CallToken": "The call_token of an incoming call this one forwards; Twilio then lets it "
    "keep that call's caller ID. It expires with that call, so presets never keep it.",
    "ClientNotificationUrl": "Where Twilio delivers the push notification for a call to a "
    "Voice SDK client (client: destinations).",
    "SipAuthPassword": "Write-only: never rendered back, logged or shown in errors; the "
    "caller encrypts it before it is stored or queued.",
    "ConferenceStatusCallback": "Only the first participant's value applies to a conference.",
    "ConferenceStatusCallbackEvent": "Values are the short event names (start, join…); the "
    "callbacks report them as conference-start, participant-join…",
    "Byoc": "Only meaningful when To is a phone number; the form refuses it otherwise.",
    "Region": "Where Twilio mixes the conference audio.",
    "WaitUrl": "Twilio plays its standard hold music when no WaitUrl is sent.",
}

_RECORD_TRUE = {
    "parameter": "Record",
    "values": [True],
    "reason": "Describes the participant recording that only Record=true starts; without it "
    "there is no recording and Twilio ignores the setting.",
    "source": SEED_PROSE,
    "quote": "Whether to record the participant and their conferences, including the time "
    "between conferences.",
}
_CONFERENCE_RECORDING = {
    "parameter": "ConferenceRecord",
    "values": ["true", "record-from-start"],
    "reason": "Describes the conference recording, which exists only when ConferenceRecord "
    "is true or record-from-start (false and do-not-record record nothing).",
    "source": SEED_PROSE,
    "quote": "Whether to record the conference the participant is joining. Can be: `true`, "
    "`false`, `record-from-start`, and `do-not-record`.",
}
_MACHINE_DETECTION = {
    "parameter": "MachineDetection",
    "reason": "Tunes answering machine detection, which runs only when MachineDetection is set.",
    "source": SEED_PROSE,
    "quote": "Whether to detect if a human, answering machine, or fax has picked up the call.",
}


def _needs_url(url_parameter: str, quote: str) -> dict[str, Any]:
    return {
        "parameter": url_parameter,
        "reason": f"Only used when Twilio calls {url_parameter}; without the URL it does nothing.",
        "source": SEED_PROSE,
        "quote": quote,
    }


# Cross-field rules the form enforces before anything is queued. JSON-shaped on purpose:
# they are copied into the schema file as they are.
REQUIREMENTS: Final[Mapping[str, Sequence[Mapping[str, Any]]]] = {
    "RecordingChannels": [_RECORD_TRUE],
    "RecordingTrack": [_RECORD_TRUE],
    "RecordingStatusCallback": [_RECORD_TRUE],
    "RecordingStatusCallbackMethod": [
        _needs_url(
            "RecordingStatusCallback",
            "The HTTP method we should use when we call `recording_status_callback`.",
        )
    ],
    "RecordingStatusCallbackEvent": [
        _needs_url(
            "RecordingStatusCallback",
            "The recording state changes that should generate a call to "
            "`recording_status_callback`.",
        )
    ],
    "ConferenceTrim": [_CONFERENCE_RECORDING],
    "ConferenceRecordingStatusCallback": [_CONFERENCE_RECORDING],
    "ConferenceRecordingStatusCallbackMethod": [
        _needs_url(
            "ConferenceRecordingStatusCallback",
            "The HTTP method we should use to call `conference_recording_status_callback`.",
        )
    ],
    "ConferenceRecordingStatusCallbackEvent": [
        _needs_url(
            "ConferenceRecordingStatusCallback",
            "The conference recording state changes that generate a call to "
            "`conference_recording_status_callback`.",
        )
    ],
    "MachineDetectionTimeout": [_MACHINE_DETECTION],
    "MachineDetectionSpeechThreshold": [_MACHINE_DETECTION],
    "MachineDetectionSpeechEndThreshold": [_MACHINE_DETECTION],
    "MachineDetectionSilenceTimeout": [_MACHINE_DETECTION],
    "AmdStatusCallback": [_MACHINE_DETECTION],
    "AmdStatusCallbackMethod": [
        _needs_url(
            "AmdStatusCallback",
            "The HTTP method we should use when calling the `amd_status_callback` URL.",
        )
    ],
    "StatusCallbackMethod": [
        _needs_url("StatusCallback", "The HTTP method we should use to call `status_callback`.")
    ],
    "StatusCallbackEvent": [
        _needs_url(
            "StatusCallback",
            "The conference state changes that should generate a call to `status_callback`.",
        )
    ],
    "ConferenceStatusCallbackMethod": [
        _needs_url(
            "ConferenceStatusCallback",
            "The HTTP method we should use to call `conference_status_callback`.",
        )
    ],
    "ConferenceStatusCallbackEvent": [
        _needs_url(
            "ConferenceStatusCallback",
            "The conference state changes that should generate a call to "
            "`conference_status_callback`.",
        )
    ],
    "WaitMethod": [_needs_url("WaitUrl", "The HTTP method we should use to call `wait_url`.")],
    "Trim": [_RECORD_TRUE],
    "CallerDisplayName": [
        {
            "parameter": "To",
            "endpoint": "sip",
            "reason": "Twilio sets the display name of the SIP From header; other "
            "destinations have none.",
            "source": TWILIO_OAI,
            "quote": "Only applicable for calls to sip address.",
        }
    ],
    "Coaching": [
        {
            "when": True,
            "parameter": "CallSidToCoach",
            "reason": "A coach needs the call it coaches.",
            "source": SEED_PROSE,
            "quote": "If `true`, `call_sid_to_coach` must be defined.",
        }
    ],
    "SipAuthUsername": [
        {
            "parameter": "To",
            "endpoint": "sip",
            "reason": "SIP credentials answer a SIP server's challenge; other destinations "
            "have none.",
            "source": SEED_PROSE,
            "quote": "The SIP username used for authentication.",
        }
    ],
    "SipAuthPassword": [
        {
            "parameter": "To",
            "endpoint": "sip",
            "reason": "SIP credentials answer a SIP server's challenge; other destinations "
            "have none.",
            "source": SEED_PROSE,
            "quote": "The SIP password for authentication.",
        },
        {
            "parameter": "SipAuthUsername",
            "reason": "A password authenticates the user named in SipAuthUsername.",
            "source": TWILIO_DOCS,
            "url": "https://www.twilio.com/docs/voice/api/call-resource",
            "quote": "The password required to authenticate the user account specified in "
            "`sip_auth_username`.",
        },
    ],
    "Byoc": [
        {
            "parameter": "To",
            "endpoint": "phone",
            "reason": "Twilio ignores a BYOC trunk for anything but a phone number.",
            "source": SEED_PROSE,
            "quote": "Note that `byoc` is only meaningful when `to` is a phone number; it will "
            "otherwise be ignored.",
        }
    ],
}

SECRET_PARAMETERS: Final = frozenset({"SipAuthPassword"})

# The parameters Twilio's current description has and the seed does not, each with what it
# is for. Named here so a parameter appearing in (or leaving) either source fails the build
# instead of silently changing the form.
ONLY_IN_TWILIO_OAI: Final[Mapping[str, str]] = {
    "Trim": "Trim silence from the participant recording (the seed only had ConferenceTrim).",
    "CallToken": "Forward an incoming call with its caller ID.",
    "ClientNotificationUrl": "Push notifications for calls to Voice SDK clients.",
    "CallerDisplayName": "The caller name shown for calls to SIP addresses.",
}
ONLY_IN_SEED: Final[Mapping[str, str]] = {}

# What is compared between the two descriptions of a parameter both have.
_COMPARED_KEYS: Final = (
    "type",
    "format",
    "enum",
    "items",
    "minimum",
    "maximum",
    "pattern",
    "minLength",
    "maxLength",
    "default",
    "description",
)

_ACRONYMS: Final = {"Amd": "AMD", "Byoc": "BYOC", "Id": "ID", "Sid": "SID", "Sip": "SIP"}


# --- Building ---------------------------------------------------------------------------


def field_name_for(name: str) -> str:
    """``StatusCallbackEvent`` -> ``status_callback_event``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def label_for(name: str) -> str:
    words = re.findall(r"[A-Z][a-z]*", name)
    shown = [_ACRONYMS.get(word, word.lower()) for word in words]
    first = _ACRONYMS.get(words[0], words[0])
    return " ".join([first, *shown[1:]])


@dataclass(frozen=True)
class _Candidate:
    source: SourceName
    value: Any
    quote: str | None = None
    url: str | None = None
    reason: str | None = None


class _Resolver:
    """Chooses each constraint's value and keeps the record of where it came from."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sources: dict[str, dict[str, Any]] = {}
        self.deviations: list[dict[str, Any]] = []

    def choose(self, constraint: str, *candidates: _Candidate | None) -> Any:
        present = [c for c in candidates if c is not None and c.value is not None]
        if not present:
            return None
        chosen = present[-1]
        entry: dict[str, Any] = {"source": chosen.source}
        if chosen.quote is not None:
            entry["quote"] = chosen.quote
        if chosen.url is not None:
            entry["url"] = chosen.url
        agrees = [c.source for c in present[:-1] if c.value == chosen.value]
        if agrees:
            entry["agrees"] = agrees
        self.sources[constraint] = entry

        seed_said = {
            c.source: c.value
            for c in candidates
            if c is not None and c.source != TWILIO_DOCS and c.source != chosen.source
        }
        # Against Twilio's docs, the seed being silent (None) is a deviation too: the docs
        # add a limit the seed does not state. Between the seed's own parts it is not.
        differs = {
            source: value
            for source, value in seed_said.items()
            if value != chosen.value and (value is not None or chosen.source == TWILIO_DOCS)
        }
        if differs:
            if not chosen.reason:
                raise SchemaBuildError(f"{self.name}.{constraint}: a deviation needs a reason")
            self.deviations.append(
                {
                    "constraint": constraint,
                    "source": chosen.source,
                    "chosen": chosen.value,
                    "seed": differs or None,
                    "reason": chosen.reason,
                }
            )
        return chosen.value


def _fact(name: str, constraint: str, format_: str | None) -> _Candidate | None:
    fact = PARAMETER_FACTS.get(name, {}).get(constraint)
    if fact is None and format_ is not None:
        fact = FORMAT_FACTS.get(format_, {}).get(constraint)
    if fact is None:
        return None
    return _Candidate(fact.source, fact.value, quote=fact.quote, url=fact.url, reason=fact.reason)


def _typed_default(raw: str, type_: str) -> Any:
    if type_ == "boolean":
        if raw not in {"true", "false"}:
            raise SchemaBuildError(f"boolean default {raw!r} is neither true nor false")
        return raw == "true"
    if type_ == "integer":
        return int(raw)
    if type_ == "array":
        return raw.split()
    return raw


def _build_parameter(
    name: str,
    prop: Mapping[str, Any],
    *,
    required: bool,
    group: str,
    twilio_oai_prop: Mapping[str, Any],
    in_seed: bool,
) -> dict[str, Any]:
    # A parameter the seed does not have is read from Twilio's description, schema and prose.
    schema_source, prose_source = (SEED_SCHEMA, SEED_PROSE) if in_seed else (TWILIO_OAI,) * 2
    description = str(prop.get("description", ""))
    prose = read_prose(description)
    resolve = _Resolver(name)

    type_ = resolve.choose("type", _Candidate(schema_source, prop.get("type")))
    if type_ not in {"string", "integer", "boolean", "array"}:
        raise SchemaBuildError(f"{name}: unknown type {type_!r}")
    item_type = resolve.choose(
        "item_type", _Candidate(schema_source, prop.get("items", {}).get("type"))
    )
    format_ = resolve.choose(
        "format",
        _Candidate(schema_source, prop.get("format")),
        _fact(name, "format", None),
    )
    resolve.choose("required", _Candidate(schema_source, required))

    # Booleans' "Can be: `true` or `false`" restates the type; it is not a value list.
    prose_values = None if type_ == "boolean" else prose.values
    values = resolve.choose(
        "values",
        _Candidate(schema_source, prop.get("enum")),
        _Candidate(prose_source, prose_values, quote=prose.values_quote, reason=None),
        _fact(name, "values", format_),
    )
    minimum = resolve.choose(
        "min",
        _Candidate(schema_source, prop.get("minimum")),
        _Candidate(prose_source, prose.minimum, quote=prose.range_quote),
        _fact(name, "min", format_),
    )
    maximum = resolve.choose(
        "max",
        _Candidate(schema_source, prop.get("maximum")),
        _Candidate(prose_source, prose.maximum, quote=prose.range_quote),
        _fact(name, "max", format_),
    )
    pattern = resolve.choose(
        "pattern", _Candidate(schema_source, prop.get("pattern")), _fact(name, "pattern", format_)
    )
    min_length = resolve.choose(
        "min_length",
        _Candidate(schema_source, prop.get("minLength")),
        _Candidate(prose_source, prose.min_length, quote=prose.length_quote),
        _fact(name, "min_length", format_),
    )
    max_length = resolve.choose(
        "max_length",
        _Candidate(schema_source, prop.get("maxLength")),
        _Candidate(prose_source, prose.max_length, quote=prose.length_quote),
        _fact(name, "max_length", format_),
    )
    default = resolve.choose(
        "default",
        _Candidate(schema_source, prop.get("default")),
        _Candidate(
            prose_source,
            None if prose.default is None else _typed_default(prose.default, type_),
            quote=prose.default_quote,
        ),
    )
    default_label = resolve.choose(
        "default_label",
        _Candidate(prose_source, prose.default_label, quote=prose.default_label_quote),
        _fact(name, "default_label", format_),
    )
    if type_ == "array":
        resolve.choose(
            "encoding",
            _Candidate(
                prose_source,
                "space-separated" if prose.space_separated_quote else None,
                quote=prose.space_separated_quote,
            ),
            _Candidate(
                _REPEATED_KEYS.source,
                _REPEATED_KEYS.value,
                quote=_REPEATED_KEYS.quote,
                url=_REPEATED_KEYS.url,
                reason=_REPEATED_KEYS.reason,
            ),
        )

    pattern_message = None
    if pattern is not None:
        explicit = PARAMETER_FACTS.get(name, {}).get("pattern_message")
        if explicit is not None:
            pattern_message = explicit.value
        elif sid := _SID_PATTERN.match(pattern):
            prefix = sid.group("prefix")
            pattern_message = f"Enter a SID: “{prefix}” followed by 32 hexadecimal characters."
        else:
            raise SchemaBuildError(f"{name}: no message for pattern {pattern!r}")

    if values is not None and default is not None and type_ != "array" and default not in values:
        raise SchemaBuildError(f"{name}: default {default!r} is not one of {values}")
    if type_ == "array" and values is not None and default is not None:
        unknown = set(default) - set(values)
        if unknown:
            raise SchemaBuildError(f"{name}: default events {sorted(unknown)} are not values")

    field_name = field_name_for(name)
    return {
        "name": name,
        "field_name": field_name,
        "sdk_argument": f"{field_name}_" if keyword.iskeyword(field_name) else field_name,
        "label": label_for(name),
        "group": group,
        "type": type_,
        "item_type": item_type,
        "format": format_,
        "required": required,
        "values": values,
        "min": minimum,
        "max": maximum,
        "pattern": pattern,
        "pattern_message": pattern_message,
        "min_length": min_length,
        "max_length": max_length,
        "default": default,
        "default_label": default_label,
        "secret": name in SECRET_PARAMETERS,
        "description": description,
        "requires": [dict(rule) for rule in REQUIREMENTS.get(name, ())],
        "sources": resolve.sources,
        "deviations": resolve.deviations,
        "note": NOTES.get(name),
        "in_seed": in_seed,
        "twilio_oai_differences": _differences(prop, twilio_oai_prop) if in_seed else [],
    }


def _differences(
    seed_prop: Mapping[str, Any], twilio_oai_prop: Mapping[str, Any]
) -> list[dict[str, Any]]:
    return [
        {"key": key, "seed": seed_prop.get(key), "twilio_oai": twilio_oai_prop.get(key)}
        for key in _COMPARED_KEYS
        if seed_prop.get(key) != twilio_oai_prop.get(key)
    ]


def _check_sources(seed: Mapping[str, Any], twilio: TwilioOperation) -> None:
    if len(seed) != SEED_PARAMETER_COUNT:
        raise SchemaBuildError(
            f"the seed has {len(seed)} body parameters, expected {SEED_PARAMETER_COUNT}"
        )
    only_in_twilio = set(twilio.properties) - set(seed)
    only_in_seed = set(seed) - set(twilio.properties)
    if only_in_twilio != set(ONLY_IN_TWILIO_OAI) or only_in_seed != set(ONLY_IN_SEED):
        raise SchemaBuildError(
            "the seed and Twilio's OpenAPI description (commit "
            f"{twilio.commit[:12]}) no longer differ by the parameters named: only in "
            f"Twilio's {sorted(only_in_twilio)}, only in the seed {sorted(only_in_seed)}; "
            "name each in ONLY_IN_TWILIO_OAI / ONLY_IN_SEED with what it is for and place "
            "it in GROUPS"
        )


def build_schema(seed_html: str, twilio_oai_text: str | None = None) -> dict[str, Any]:
    """The schema document for ``create_participant.json``, from the seed page's HTML and
    Twilio's OpenAPI description of the operation (the vendored one unless given)."""
    page = read_seed(seed_html)
    twilio = _read_twilio(twilio_oai_text)
    seed_properties: Mapping[str, Mapping[str, Any]] = page.request_schema["properties"]
    _check_sources(seed_properties, twilio)
    properties = {**twilio.properties, **seed_properties}
    required = set(page.request_schema.get("required", [])) | (
        twilio.required - set(seed_properties)
    )

    if len(properties) != EXPECTED_PARAMETER_COUNT:
        raise SchemaBuildError(
            f"the sources have {len(properties)} body parameters, "
            f"expected {EXPECTED_PARAMETER_COUNT}"
        )
    placed = [name for group in GROUPS for name in group.parameters]
    if len(placed) != len(set(placed)):
        raise SchemaBuildError("a parameter is in more than one group")
    missing = sorted(set(properties) - set(placed))
    extra = sorted(set(placed) - set(properties))
    if missing or extra:
        raise SchemaBuildError(f"groups do not match the sources: missing {missing}, extra {extra}")
    unknown_rules = {rule["parameter"] for rules in REQUIREMENTS.values() for rule in rules} - set(
        properties
    )
    unknown_facts = (set(PARAMETER_FACTS) | set(REQUIREMENTS) | set(NOTES)) - set(properties)
    if unknown_rules or unknown_facts:
        raise SchemaBuildError(
            f"the table names unknown parameters: {sorted(unknown_rules | unknown_facts)}"
        )

    parameters = [
        _build_parameter(
            name,
            properties[name],
            required=name in required,
            group=group.key,
            twilio_oai_prop=twilio.properties[name],
            in_seed=name in seed_properties,
        )
        for group in GROUPS
        for name in group.parameters
    ]
    return {
        "operation": page.operation,
        "method": page.method,
        "path": page.path,
        "content_type": "application/x-www-form-urlencoded",
        "seed": "shared/seed/CreateParticipant.html",
        "twilio_oai": {
            "repository": TWILIO_OAI_REPOSITORY,
            "file": TWILIO_OAI_FILE,
            "commit": twilio.commit,
            "vendored": f"conferences/schema/{TWILIO_OAI_PATH.name}",
            "only_in_twilio_oai": dict(ONLY_IN_TWILIO_OAI),
            "only_in_seed": dict(ONLY_IN_SEED),
        },
        "generated_by": "python manage.py build_participant_schema",
        "source_legend": {
            SEED_SCHEMA: 'The JSON schema in the seed\'s <pre class="schema">.',
            SEED_PROSE: "The prose of the seed's descriptions (value lists, ranges, defaults).",
            TWILIO_OAI: "Twilio's OpenAPI description (schema and prose), for the parameters "
            "the seed does not have.",
            TWILIO_DOCS: "Twilio's documentation or official spec, with a URL and a quote.",
        },
        "parameter_count": len(parameters),
        "seed_parameter_count": len(seed_properties),
        "twilio_oai_parameter_count": len(twilio.properties),
        "path_parameters": [dict(p) for p in page.path_parameters],
        "groups": [
            {"key": g.key, "title": g.title, "parameters": list(g.parameters)} for g in GROUPS
        ],
        "parameters": parameters,
    }


def _read_twilio(text: str | None) -> TwilioOperation:
    try:
        return read_operation(TWILIO_OAI_PATH.read_text(encoding="utf-8") if text is None else text)
    except TwilioOaiError as error:
        raise SchemaBuildError(str(error)) from error


def render_schema(schema: Mapping[str, Any]) -> str:
    """Pretty-printed, key order as built (stable), ending with a newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def build_schema_file(seed_path: Path) -> str:
    return render_schema(build_schema(seed_path.read_text(encoding="utf-8")))


def write_schema(seed_path: Path, output: Path = SCHEMA_PATH) -> bool:
    """Write the schema derived from ``seed_path``; True when the file changed."""
    rendered = build_schema_file(seed_path)
    if output.exists() and output.read_text(encoding="utf-8") == rendered:
        return False
    output.write_text(rendered, encoding="utf-8")
    return True
