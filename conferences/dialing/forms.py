"""The dial form: one field per Create Participant parameter, built from the schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.forms.boundfield import BoundField

from conferences.core.sids import is_conference_sid
from conferences.dialing.fields import (
    _CLIENT_IDENTITY_RE,
    _ENDPOINT_HINT,
    _SIP_URI_RE,
    _SIP_USER_RE,
    _has_value,
    _shown,
    _wire_value,
    endpoint_kind,
    normalise_phone_number,
    schema_field,
)
from conferences.schema import (
    GROUPS,
    ParameterSpec,
    Requirement,
    load_participant_schema,
    parameters_by_name,
    secret_parameters,
)

# =========================================================================================
# Dial form: mirrors Twilio's Create Participant request, field for field, from the schema
# in conferences/schema/. Everything down to "end of dial form" belongs to it.
# =========================================================================================

# The conference is the URL's {ConferenceSid}: a CF SID or, on create, a friendly name
# (Twilio creates the conference when the first participant joins). Twilio's Conference
# resource: "friendly_name ... Maximum length is 128 characters."
CONFERENCE_NAME_MAX_LENGTH: Final = 128

# The template renders <datalist id=...> with form.caller_ids for From and CallerId.
CALLER_ID_DATALIST_ID: Final = "dial-caller-ids"
# ... and one with the open conferences the operator may dial into, for Conference.
CONFERENCE_DATALIST_ID: Final = "conference-names"
# Fields emptied in the browser the moment a dial is sent, so the next caller can be
# typed at once (static/js/app.js): what is typed during the request is kept.
CLEARED_ON_DIAL: Final = ("to", "label")


class FieldGroup(NamedTuple):
    key: str
    title: str
    fields: list[BoundField]


class DialForm(forms.Form):
    """Dial one participant into a conference: the path's conference plus the 46 Create
    Participant body parameters, generated from the schema."""

    conference = forms.CharField(
        label="Conference",
        max_length=CONFERENCE_NAME_MAX_LENGTH,
        help_text="The conference's friendly name (created when the first participant joins) "
        "or its SID (CF followed by 32 hexadecimal characters).",
        validators=[
            RegexValidator(
                r"^[^/]*$",
                message="A conference name cannot contain “/”: it becomes part of Twilio's URL.",
                code="conference",
            )
        ],
    )

    def __init__(self, data: Any = None, *, caller_ids: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.caller_ids: tuple[str, ...] = tuple(caller_ids)
        self.caller_id_datalist_id = CALLER_ID_DATALIST_ID
        self.conference_datalist_id = CONFERENCE_DATALIST_ID
        self.specs: tuple[ParameterSpec, ...] = load_participant_schema()
        for spec in self.specs:
            self.fields[spec.field_name] = schema_field(spec)
        if self.caller_ids:
            for name in ("from", "caller_id"):
                self.fields[name].widget.attrs["list"] = CALLER_ID_DATALIST_ID
                self.fields[name].widget.attrs["autocomplete"] = "off"
        self.fields["conference"].widget.attrs.update(
            {"list": CONFERENCE_DATALIST_ID, "autocomplete": "off"}
        )
        for name in CLEARED_ON_DIAL:
            self.fields[name].widget.attrs["data-cleared-on-dial"] = "true"

    # --- Endpoints --------------------------------------------------------------------

    def _region(self) -> str:
        return str(getattr(settings, "PHONE_DEFAULT_REGION", "US")).upper()

    def clean_to(self) -> str:
        raw: str = self.cleaned_data.get("to", "")
        if not raw:
            return raw
        lowered = raw.lower()
        if lowered.startswith("client:"):
            identity = raw[len("client:") :]
            if not _CLIENT_IDENTITY_RE.match(identity):
                raise ValidationError(
                    "“%(value)s” is not a valid client identity: write client: and a name "
                    "without spaces.",
                    code="client",
                    params={"value": raw},
                )
            return f"client:{identity}"
        if lowered.startswith("sip:"):
            uri = f"sip:{raw[len('sip:') :]}"
            if not _SIP_URI_RE.match(uri):
                raise ValidationError(
                    "“%(value)s” is not a SIP address like sip:name@company.com.",
                    code="sip",
                    params={"value": raw},
                )
            return uri
        try:
            return normalise_phone_number(raw, self._region())
        except ValidationError as error:
            raise ValidationError([*error.error_list, _ENDPOINT_HINT["to"]]) from error

    def _clean_caller(self, field_name: str, label: str) -> str:
        """From and CallerId: a phone number or client: identity; when To is a sip:
        address, the username part of a SIP address instead."""
        raw: str = self.cleaned_data.get(field_name, "")
        if not raw:
            return raw
        to = self.cleaned_data.get("to") or ""
        to_kind = endpoint_kind(to)
        lowered = raw.lower()
        if lowered.startswith("client:"):
            if to_kind == "phone":
                raise ValidationError(
                    f"{label} must be a phone number when To is a phone number.",
                    code="caller_kind",
                )
            identity = raw[len("client:") :]
            if not _CLIENT_IDENTITY_RE.match(identity):
                raise ValidationError(
                    "“%(value)s” is not a valid client identity.",
                    code="client",
                    params={"value": raw},
                )
            return f"client:{identity}"
        if lowered.startswith("sip:"):
            raise ValidationError(
                f"{label} takes the username part of a SIP address (alice), not a sip: URI.",
                code="sip_user",
            )
        try:
            return normalise_phone_number(raw, self._region())
        except ValidationError as error:
            if to_kind == "sip" and _SIP_USER_RE.match(raw):
                return raw
            raise ValidationError([*error.error_list, _ENDPOINT_HINT["caller"]]) from error

    def clean_from(self) -> str:
        return self._clean_caller("from", "From")

    def clean_caller_id(self) -> str:
        return self._clean_caller("caller_id", "Caller ID")

    def clean_conference(self) -> str:
        value: str = self.cleaned_data["conference"]
        # A SID-shaped value is a SID; Twilio writes their hex in lowercase, so one
        # conference is always the same string in our records.
        if is_conference_sid(value):
            return "CF" + value[2:].lower()
        return value

    # --- Cross-field rules --------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        by_name = parameters_by_name()
        for spec in self.specs:
            value = cleaned.get(spec.field_name)
            if not _has_value(value) or self.has_error(spec.field_name):
                continue
            for rule in spec.requires:
                if rule.when is not None and value != rule.when:
                    continue
                other = by_name[rule.parameter]
                if self.has_error(other.field_name):
                    continue  # its own error says what is wrong; do not pile on
                if not self._requirement_met(rule, cleaned.get(other.field_name)):
                    self.add_error(
                        spec.field_name,
                        ValidationError(self._requirement_message(spec, rule), code="requires"),
                    )
                    break
        return cleaned

    @staticmethod
    def _requirement_met(rule: Requirement, other_value: object) -> bool:
        if not _has_value(other_value):
            return False
        if rule.endpoint is not None:
            return isinstance(other_value, str) and endpoint_kind(other_value) == rule.endpoint
        if rule.values is not None:
            return other_value in rule.values
        return True

    @staticmethod
    def _requirement_message(spec: ParameterSpec, rule: Requirement) -> str:
        other = parameters_by_name()[rule.parameter]
        if rule.endpoint == "sip":
            return f"{spec.label} is only for SIP destinations: To must be a sip: address."
        if rule.endpoint == "phone":
            return f"{spec.label} only applies when To is a phone number."
        if rule.values is not None:
            allowed = " or ".join(_shown(v) for v in rule.values)
            return f"{spec.label} only applies when {other.label} is {allowed}."
        if rule.when is not None:
            return f"{spec.label} set to {_shown(rule.when)} needs {other.label}."
        return f"{spec.label} needs {other.label} to be set."

    # --- What the rest of the app reads ---------------------------------------------------

    def twilio_params(self) -> dict[str, str | list[str]]:
        """The Create Participant body for what the operator set, nothing else: Twilio's
        names, "true"/"false", decimal integers, E.164 numbers, lists for repeated keys.
        Holds SipAuthPassword when set: encrypt it before storing or queueing."""
        if not self.is_valid():
            raise ValueError("twilio_params() needs a valid form")
        params: dict[str, str | list[str]] = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec.field_name)
            if _has_value(value):
                params[spec.name] = _wire_value(value)
        return params

    def loggable_twilio_params(self) -> dict[str, str | list[str]]:
        """twilio_params() without the secrets: safe for logs, audit entries and pages."""
        return {k: v for k, v in self.twilio_params().items() if k not in secret_parameters()}

    def sip_auth_password(self) -> str | None:
        if not self.is_valid():
            raise ValueError("sip_auth_password() needs a valid form")
        password: str | None = self.cleaned_data.get("sip_auth_password") or None
        return password

    def conference_name(self) -> str:
        """The path's {ConferenceSid}: a CF SID or a friendly name (URL-encode it)."""
        if not self.is_valid():
            raise ValueError("conference_name() needs a valid form")
        conference: str = self.cleaned_data["conference"]
        return conference

    # --- Page layout --------------------------------------------------------------------

    def groups(self) -> list[FieldGroup]:
        """Fieldsets in page order; the conference field leads the always-open basic one."""
        result = []
        for group in GROUPS:
            names = [by.field_name for by in self.specs if by.group == group.key]
            if group.key == "basic":
                names.insert(0, "conference")
            result.append(FieldGroup(group.key, group.title, [self[name] for name in names]))
        return result

    def _group(self, key: str) -> FieldGroup:
        for field_group in self.groups():
            if field_group.key == key:
                return field_group
        raise KeyError(key)

    def group_has_values(self, key: str) -> bool:
        """True when any field of the group holds a value, so a collapsed group opens."""
        return any(_has_value(bound.value()) for bound in self._group(key).fields)

    def group_has_errors(self, key: str) -> bool:
        return any(bound.errors for bound in self._group(key).fields)
