"""Form fields and value rules for the dial form: phone numbers, endpoints, schema-driven fields."""

from __future__ import annotations

import re
from typing import Any, Final

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.forms.widgets import Input
from phonenumbers import NumberParseException, ValidationResult

from conferences.schema import (
    EndpointKind,
    ParameterSpec,
    RuleValue,
)

# Twilio's <Client> docs: up to 256 characters, no control, space, delimiter or "unwise"
# characters. "?" starts custom parameters (client:alice?ticket=42).
_CLIENT_IDENTITY_RE: Final = re.compile(r'^[^\s<>#%"{}|\\^\[\]`?]{1,256}(\?\S*)?$')
# sip:user@host[:port][;params][?headers], as the seed writes it: sip:name@company.com.
_SIP_URI_RE: Final = re.compile(
    r"^sip:[^\s@:;?]+@"  # user@
    r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"  # host
    r"(?::\d{1,5})?(?:;[^\s?]*)?(?:\?\S*)?$"  # :port ;params ?headers
)
# RFC 3261 "user" characters without escapes: what goes before the @ of a SIP address.
_SIP_USER_RE: Final = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$,]{1,128}$")

_ENDPOINT_HINT: Final = {
    "to": "Enter a phone number (e.g. +14155550100), a sip: address or a client: identity.",
    "caller": "Enter a phone number (e.g. +14155550100) or a client: identity.",
}


def endpoint_kind(value: str) -> EndpointKind | None:
    """The kind of a cleaned To value (None for a bare SIP username or an empty value)."""
    if value.startswith("sip:"):
        return "sip"
    if value.startswith("client:"):
        return "client"
    if value.startswith("+"):
        return "phone"
    return None


def normalise_phone_number(raw: str, region: str) -> str:
    """E.164 form of ``raw``, read in ``region`` unless it starts with +; a ValidationError
    that says what is wrong otherwise."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as error:
        messages = {
            NumberParseException.INVALID_COUNTRY_CODE: "“%(value)s” has an unknown country code.",
            NumberParseException.TOO_SHORT_AFTER_IDD: "“%(value)s” is too short.",
            NumberParseException.TOO_SHORT_NSN: "“%(value)s” is too short.",
            NumberParseException.TOO_LONG: "“%(value)s” is too long.",
        }
        message = messages.get(error.error_type, "“%(value)s” is not a phone number.")
        raise ValidationError(message, code="phone", params={"value": raw}) from error

    # A number written with + is judged in its own country; others in the configured one.
    own_region = phonenumbers.region_code_for_number(number) if raw.startswith("+") else None
    number_region = own_region or region
    possible = phonenumbers.is_possible_number_with_reason(number)
    reasons = {
        ValidationResult.TOO_SHORT: "“%(value)s” is too short for a number in region %(region)s.",
        ValidationResult.TOO_LONG: "“%(value)s” is too long for a number in region %(region)s.",
        ValidationResult.INVALID_LENGTH: (
            "“%(value)s” has the wrong number of digits for region %(region)s."
        ),
        ValidationResult.INVALID_COUNTRY_CODE: "“%(value)s” has an unknown country code.",
        ValidationResult.IS_POSSIBLE_LOCAL_ONLY: (
            "“%(value)s” is a local number; add the area code."
        ),
    }
    if possible in reasons:
        raise ValidationError(
            reasons[possible], code="phone", params={"value": raw, "region": number_region}
        )
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "“%(value)s” is not a valid number for region %(region)s.",
            code="phone",
            params={"value": raw, "region": number_region},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class TriStateBooleanField(forms.TypedChoiceField):
    """Unset / true / false. Unset cleans to None: Twilio's default applies, nothing is sent."""

    def __init__(self, *, default: bool | None, **kwargs: Any) -> None:
        if default is None:
            empty = "Not set"
        else:
            empty = f"Twilio default ({'true' if default else 'false'})"
        super().__init__(
            choices=[("", empty), ("true", "Yes (true)"), ("false", "No (false)")],
            coerce=_is_true,
            empty_value=None,
            **kwargs,
        )


def _is_true(value: str) -> bool:
    return value == "true"


class AbsoluteURLField(forms.CharField):
    """An absolute http(s) URL, taken as typed: unlike forms.URLField it never adds a
    scheme, so what Twilio calls is exactly what the operator wrote."""

    widget = forms.URLInput
    default_validators = [
        URLValidator(
            schemes=["http", "https"],
            message="Enter an absolute http:// or https:// URL.",
        )
    ]


def _choice_empty_label(spec: ParameterSpec) -> str:
    shown = spec.default_display
    return f"Twilio default ({shown})" if shown else "Not set"


def _placeholder(spec: ParameterSpec) -> str | None:
    shown = spec.default_display
    return f"Twilio default: {shown}" if shown else None


def schema_field(spec: ParameterSpec) -> forms.Field:
    """The form field for one body parameter, with exactly the schema's constraints."""
    common: dict[str, Any] = {
        "label": spec.label,
        "required": spec.required,
        "help_text": spec.help_text,
    }
    field: forms.Field
    if spec.is_boolean:
        default = spec.default if isinstance(spec.default, bool) else None
        field = TriStateBooleanField(default=default, **common)
    elif spec.is_multi:
        if spec.default_display:
            common["help_text"] = (
                f"{spec.help_text} Twilio default when none is ticked: {spec.default_display}."
            )
        field = forms.MultipleChoiceField(
            choices=[(value, value) for value in spec.values or ()],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    elif spec.values is not None:
        field = forms.ChoiceField(
            choices=[("", _choice_empty_label(spec)), *((v, v) for v in spec.values)], **common
        )
    elif spec.is_integer:
        field = forms.IntegerField(min_value=spec.min, max_value=spec.max, **common)
    elif spec.format == "uri":
        field = AbsoluteURLField(**common)
    elif spec.secret:
        # Write-only: never rendered back, not even after a failed validation.
        field = forms.CharField(
            widget=forms.PasswordInput(render_value=False), strip=False, **common
        )
    else:
        validators = []
        if spec.pattern is not None:
            # Django %-formats validator messages with the value: a literal % must be %%.
            message = (spec.pattern_message or "").replace("%", "%%") or None
            validators.append(RegexValidator(spec.pattern, message=message, code="pattern"))
        field = forms.CharField(
            min_length=spec.min_length,
            max_length=spec.max_length,
            validators=validators,
            **common,
        )
    placeholder = _placeholder(spec)
    if placeholder and isinstance(field.widget, Input) and not spec.secret:
        field.widget.attrs.setdefault("placeholder", placeholder)
    return field


def schema_problems(spec: ParameterSpec, value: str) -> list[str]:
    """What the dial form says about this value of the parameter (empty when it is valid):
    other ways in (invite lists, the API) check values by the same field."""
    try:
        schema_field(spec).clean(value)
    except ValidationError as error:
        return list(error.messages)
    return []


def _has_value(value: object) -> bool:
    return value not in (None, "", [], ())


def _wire_value(value: object) -> str | list[str]:
    # bool before int: bool is an int in Python, and Twilio wants "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


def _shown(value: RuleValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
