"""The body of POST /api/v1/dials, generated from the Create Participant schema.

The model only says which parameters exist and their JSON types (so the OpenAPI document
lists all 50 with Twilio's constraints); every value rule is the dial form's, applied by
the dial form itself. One source of truth: `conferences/schema/create_participant.json`."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from django.http import QueryDict
from pydantic import ConfigDict, Field, create_model

from conferences.dialing.forms import CONFERENCE_NAME_MAX_LENGTH
from conferences.schema import ParameterSpec, load_participant_schema, parameters_by_name

CONFERENCE_FIELD = "conference"
CONFERENCE_RULE = (
    f"a friendly name of up to {CONFERENCE_NAME_MAX_LENGTH} characters without “/” "
    "(Twilio creates the conference when the first participant joins), or a conference SID "
    "(CF and 32 hexadecimal characters)"
)
ENDPOINT_RULES = {
    "To": "a phone number in E.164 (+14155550100), a sip: address or a client: identity",
    "From": "a phone number in E.164 or a client: identity",
    "CallerId": "a phone number in E.164 or a client: identity",
}
# One working dial, shown in the document (and sent by schemathesis as its first example).
EXAMPLES: dict[str, str] = {
    CONFERENCE_FIELD: "standup",
    "To": "+14155550100",
    "From": "+15005550006",
}
_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "boolean": bool, "array": list[str]}


def rule_of(spec: ParameterSpec) -> str:
    """Twilio's rule for one parameter, in words, as the API's errors quote it."""
    if spec.name in ENDPOINT_RULES:
        return ENDPOINT_RULES[spec.name]
    if spec.values is not None:
        shown = ", ".join(spec.values)
        return f"any of: {shown}" if spec.is_multi else f"one of: {shown}"
    if spec.is_boolean:
        return "true or false"
    if spec.is_integer:
        if spec.min is not None and spec.max is not None:
            return f"a whole number from {spec.min} to {spec.max}"
        if spec.min is not None:
            return f"a whole number of at least {spec.min}"
        return "a whole number"
    if spec.format == "uri":
        return "an absolute http:// or https:// URL"
    if spec.pattern is not None:
        return spec.pattern_message or f"text matching {spec.pattern}"
    if spec.max_length is not None:
        return f"text of at most {spec.max_length} characters"
    return "text"


def _documented(spec: ParameterSpec) -> dict[str, Any]:
    """JSON-schema keywords for the document only: the dial form enforces them."""
    extra: dict[str, Any] = {}
    if spec.name in EXAMPLES:
        extra["examples"] = [EXAMPLES[spec.name]]
    if spec.values is not None:
        if spec.is_multi:
            extra["items"] = {"type": "string", "enum": list(spec.values)}
        else:
            extra["enum"] = list(spec.values)
    if spec.min is not None:
        extra["minimum"] = spec.min
    if spec.max is not None:
        extra["maximum"] = spec.max
    if spec.max_length is not None:
        extra["maxLength"] = spec.max_length
    if spec.format == "uri":
        extra["format"] = "uri"
    if spec.secret:
        extra["writeOnly"] = True
    return extra


@functools.cache
def dial_body_model() -> type[Any]:
    """A pydantic model with `conference` and one optional field per body parameter, named
    as Twilio names it (To, From, StatusCallbackEvent, …); unknown names are refused."""
    fields: dict[str, Any] = {
        CONFERENCE_FIELD: (
            str,
            Field(
                description=f"The conference: {CONFERENCE_RULE}.",
                max_length=1000,
                examples=[EXAMPLES[CONFERENCE_FIELD]],
            ),
        )
    }
    for spec in load_participant_schema():
        kind = _JSON_TYPES[spec.type]
        description = f"{spec.help_text} Rule: {rule_of(spec)}."
        if spec.required:
            fields[spec.name] = (
                kind,
                Field(description=description, json_schema_extra=_documented(spec)),
            )
        else:
            fields[spec.name] = (
                kind | None,
                Field(default=None, description=description, json_schema_extra=_documented(spec)),
            )
    return create_model(
        "DialCreate",
        __config__=ConfigDict(extra="forbid", title="DialCreate"),
        __doc__="A dial: the conference and Create Participant's body parameters.",
        **fields,
    )


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_data(values: dict[str, Any]) -> QueryDict:
    """The body as the dial form receives it from the page: field names, "true"/"false",
    lists for multi-valued parameters."""
    by_name = parameters_by_name()
    data = QueryDict(mutable=True)
    for name, value in values.items():
        if value is None:
            continue
        field = CONFERENCE_FIELD if name == CONFERENCE_FIELD else by_name[name].field_name
        items = value if isinstance(value, list) else [value]
        data.setlist(field, [_wire(item) for item in items])
    return data


def body_digest(values: dict[str, Any]) -> str:
    """The same body always gives the same digest (key order and unset values aside)."""
    present = {name: value for name, value in values.items() if value is not None}
    return hashlib.sha256(json.dumps(present, sort_keys=True).encode()).hexdigest()


def api_field_name(form_field: str) -> str:
    """The API's name for a dial form field: Twilio's parameter name, or `conference`."""
    for spec in load_participant_schema():
        if spec.field_name == form_field:
            return spec.name
    return form_field if form_field != "__all__" else ""


def rule_for(api_field: str) -> str:
    if api_field == CONFERENCE_FIELD:
        return CONFERENCE_RULE
    spec = parameters_by_name().get(api_field)
    return rule_of(spec) if spec is not None else ""
