"""Twilio's Create Participant request body as data: the one source the dial form and the
gateway read.

The data lives in ``create_participant.json``, derived from the seed page by
``conferences.schema.build`` (``python manage.py build_participant_schema``). This module
only loads it into frozen dataclasses; it never parses the seed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

SCHEMA_PATH: Final = Path(__file__).with_name("create_participant.json")

# Where a constraint comes from: the seed's JSON schema block, the prose of the seed's
# descriptions, Twilio's official OpenAPI description (for the parameters the seed does not
# have), or Twilio's own documentation (with a URL and a quote).
SourceName = Literal["seed-schema", "seed-prose", "twilio-oai", "twilio-docs"]
SOURCE_NAMES: Final[tuple[SourceName, ...]] = (
    "seed-schema",
    "seed-prose",
    "twilio-oai",
    "twilio-docs",
)

# The kinds of destination a requirement can ask To to be.
EndpointKind = Literal["phone", "sip", "client"]

DefaultValue = str | int | bool | tuple[str, ...] | None
RuleValue = str | bool


@dataclass(frozen=True)
class Group:
    """A fieldset on the dial page; ``basic`` is always open, the others start collapsed."""

    key: str
    title: str
    parameters: tuple[str, ...]

    @property
    def collapsible(self) -> bool:
        return self.key != "basic"


# Page layout, not a Twilio fact: which fieldset holds each of the 50 body parameters (the
# seed's 46 and the four Twilio's OpenAPI description added since), in the order the page
# shows them. The builder copies this into the JSON and refuses sources whose parameters
# are not exactly these.
GROUPS: Final[tuple[Group, ...]] = (
    Group(
        "basic",
        "Participant",
        (
            "To",
            "From",
            "Label",
            "Muted",
            "Beep",
            "StartConferenceOnEnter",
            "EndConferenceOnExit",
        ),
    ),
    Group(
        "call",
        "Call behaviour",
        (
            "Timeout",
            "TimeLimit",
            "CallerId",
            "CallerDisplayName",
            "CallReason",
            "EarlyMedia",
            "Byoc",
            "Region",
            "JitterBufferSize",
            "CallToken",
            "ClientNotificationUrl",
        ),
    ),
    Group(
        "recording",
        "Participant recording",
        (
            "Record",
            "RecordingChannels",
            "RecordingTrack",
            "Trim",
            "RecordingStatusCallback",
            "RecordingStatusCallbackMethod",
            "RecordingStatusCallbackEvent",
        ),
    ),
    Group(
        "conference",
        "Conference settings",
        (
            "ConferenceRecord",
            "ConferenceTrim",
            "MaxParticipants",
            "WaitUrl",
            "WaitMethod",
            "ConferenceRecordingStatusCallback",
            "ConferenceRecordingStatusCallbackMethod",
            "ConferenceRecordingStatusCallbackEvent",
        ),
    ),
    Group(
        "machine_detection",
        "Answering machine detection",
        (
            "MachineDetection",
            "MachineDetectionTimeout",
            "MachineDetectionSpeechThreshold",
            "MachineDetectionSpeechEndThreshold",
            "MachineDetectionSilenceTimeout",
            "AmdStatusCallback",
            "AmdStatusCallbackMethod",
        ),
    ),
    Group(
        "callbacks",
        "Status callbacks",
        (
            "StatusCallback",
            "StatusCallbackMethod",
            "StatusCallbackEvent",
            "ConferenceStatusCallback",
            "ConferenceStatusCallbackMethod",
            "ConferenceStatusCallbackEvent",
        ),
    ),
    Group("coaching", "Coaching", ("Coaching", "CallSidToCoach")),
    Group("sip", "SIP authentication", ("SipAuthUsername", "SipAuthPassword")),
)


@dataclass(frozen=True)
class Source:
    """Where one constraint of a parameter comes from."""

    constraint: str
    source: SourceName
    quote: str | None = None
    url: str | None = None
    # Other sources that state the same value (e.g. the seed's prose agreeing with the docs).
    agrees: tuple[SourceName, ...] = ()


@dataclass(frozen=True)
class Deviation:
    """A constraint where we do not follow the seed, and why."""

    constraint: str
    source: SourceName
    chosen: Any
    seed: Any
    reason: str


@dataclass(frozen=True)
class TwilioOaiDifference:
    """Where Twilio's OpenAPI description says something else than the seed about a
    parameter both have; the form follows the constraint's chosen source either way."""

    key: str  # the JSON-schema key: "enum", "description", …
    seed: Any
    twilio_oai: Any


@dataclass(frozen=True)
class Requirement:
    """A cross-field rule: when this parameter is set (to ``when``, if given), ``parameter``
    must be set, to one of ``values`` if given, or be an endpoint of kind ``endpoint``."""

    parameter: str
    reason: str
    source: SourceName
    values: tuple[RuleValue, ...] | None = None
    endpoint: EndpointKind | None = None
    when: RuleValue | None = None
    quote: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ParameterSpec:
    """One form-encoded body parameter of Create Participant."""

    name: str  # Twilio's name on the wire: "StatusCallbackEvent"
    field_name: str  # snake_case, the dial form's field: "status_callback_event"
    sdk_argument: str  # twilio-python's keyword for it ("from_" for From)
    label: str
    group: str
    type: Literal["string", "integer", "boolean", "array"]
    item_type: str | None
    format: str | None  # "uri", "http-method", "endpoint" or None
    required: bool
    values: tuple[str, ...] | None
    min: int | None
    max: int | None
    pattern: str | None
    pattern_message: str | None
    min_length: int | None
    max_length: int | None
    default: DefaultValue  # Twilio's default, for display only: never sent
    default_label: str | None  # how to show the default when it is not a plain value
    secret: bool
    description: str
    requires: tuple[Requirement, ...]
    sources: tuple[Source, ...]
    deviations: tuple[Deviation, ...]
    note: str | None
    in_seed: bool  # False for the parameters only Twilio's OpenAPI description has
    twilio_oai_differences: tuple[TwilioOaiDifference, ...]

    @property
    def is_multi(self) -> bool:
        return self.type == "array"

    @property
    def is_boolean(self) -> bool:
        return self.type == "boolean"

    @property
    def is_integer(self) -> bool:
        return self.type == "integer"

    @property
    def is_tri_state(self) -> bool:
        """Booleans with a Twilio default offer unset / true / false, so unset means
        "let Twilio decide" rather than a silently sent false."""
        return self.is_boolean and self.default is not None

    @property
    def has_choices(self) -> bool:
        return self.values is not None

    @property
    def default_display(self) -> str | None:
        if self.default_label is not None:
            return self.default_label
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, tuple):
            return " ".join(self.default)
        return str(self.default)

    @property
    def help_text(self) -> str:
        return plain_text(self.description)

    def source_of(self, constraint: str) -> Source | None:
        return next((s for s in self.sources if s.constraint == constraint), None)


_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def plain_text(markdown: str) -> str:
    """The seed's descriptions are markdown; the page shows them as plain help text."""
    text = _MARKDOWN_LINK.sub(r"\1", markdown).replace("`", "")
    return re.sub(r"\s{2,}", " ", text).strip()


@functools.cache
def load_schema_document() -> Mapping[str, Any]:
    """The committed JSON as parsed, for code that needs more than the parameters."""
    return cast(Mapping[str, Any], json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


@functools.cache
def load_participant_schema() -> tuple[ParameterSpec, ...]:
    """The 50 body parameters, in page order (group by group)."""
    document = load_schema_document()
    specs = tuple(_parameter_from_json(raw) for raw in document["parameters"])
    _check_against_groups(specs)
    return specs


@functools.cache
def parameters_by_name() -> Mapping[str, ParameterSpec]:
    return {spec.name: spec for spec in load_participant_schema()}


@functools.cache
def secret_parameters() -> frozenset[str]:
    """The parameters whose values never reach a log, a page, an error or the database."""
    return frozenset(spec.name for spec in load_participant_schema() if spec.secret)


def parameter(name: str) -> ParameterSpec:
    """The spec of one parameter by its Twilio name; KeyError if there is none."""
    return parameters_by_name()[name]


def group(key: str) -> Group:
    for candidate in GROUPS:
        if candidate.key == key:
            return candidate
    raise KeyError(key)


def _check_against_groups(specs: Sequence[ParameterSpec]) -> None:
    # A stale JSON (groups edited in code, file not rebuilt) must fail loudly at load.
    expected = [(g.key, name) for g in GROUPS for name in g.parameters]
    actual = [(spec.group, spec.name) for spec in specs]
    if actual != expected:
        raise ValueError(
            f"{SCHEMA_PATH.name} does not match GROUPS; run `manage.py build_participant_schema`"
        )


def _tuple_or_none(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _default_from_json(value: Any) -> DefaultValue:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return cast(DefaultValue, value)


def _requirement_from_json(raw: Mapping[str, Any]) -> Requirement:
    values = raw.get("values")
    return Requirement(
        parameter=raw["parameter"],
        reason=raw["reason"],
        source=raw["source"],
        values=None if values is None else tuple(values),
        endpoint=raw.get("endpoint"),
        when=raw.get("when"),
        quote=raw.get("quote"),
        url=raw.get("url"),
    )


def _parameter_from_json(raw: Mapping[str, Any]) -> ParameterSpec:
    return ParameterSpec(
        name=raw["name"],
        field_name=raw["field_name"],
        sdk_argument=raw["sdk_argument"],
        label=raw["label"],
        group=raw["group"],
        type=raw["type"],
        item_type=raw["item_type"],
        format=raw["format"],
        required=raw["required"],
        values=_tuple_or_none(raw["values"]),
        min=raw["min"],
        max=raw["max"],
        pattern=raw["pattern"],
        pattern_message=raw["pattern_message"],
        min_length=raw["min_length"],
        max_length=raw["max_length"],
        default=_default_from_json(raw["default"]),
        default_label=raw["default_label"],
        secret=raw["secret"],
        description=raw["description"],
        requires=tuple(_requirement_from_json(rule) for rule in raw["requires"]),
        sources=tuple(
            Source(
                constraint=constraint,
                source=entry["source"],
                quote=entry.get("quote"),
                url=entry.get("url"),
                agrees=tuple(entry.get("agrees", ())),
            )
            for constraint, entry in raw["sources"].items()
        ),
        deviations=tuple(
            Deviation(
                constraint=entry["constraint"],
                source=entry["source"],
                chosen=entry["chosen"],
                seed=entry["seed"],
                reason=entry["reason"],
            )
            for entry in raw["deviations"]
        ),
        note=raw["note"],
        in_seed=raw["in_seed"],
        twilio_oai_differences=tuple(
            TwilioOaiDifference(
                key=entry["key"], seed=entry["seed"], twilio_oai=entry["twilio_oai"]
            )
            for entry in raw["twilio_oai_differences"]
        ),
    )
