"""Data for the dial form tests: a minimal valid dial and values that satisfy any
parameter's cross-field requirements, computed from the schema itself."""

from __future__ import annotations

from typing import Any

from conferences.schema import ParameterSpec, parameter

PHONE_TO = "+14155550100"
PHONE_FROM = "+14155550199"
SIP_TO = "sip:bob@example.com"
CALL_SID = "CA" + "0123456789abcdef" * 2
BYOC_SID = "BY" + "0123456789abcdef" * 2


def minimal_data(**extra: Any) -> dict[str, Any]:
    """The smallest valid dial: conference, To and From."""
    return {"conference": "support-room", "to": PHONE_TO, "from": PHONE_FROM, **extra}


def sample_value(spec: ParameterSpec) -> Any:
    """A valid value for one parameter, as the browser would post it."""
    samples = {
        "To": PHONE_TO,
        "From": PHONE_FROM,
        "CallerId": PHONE_FROM,
        "CallSidToCoach": CALL_SID,
        "Byoc": BYOC_SID,
        "SipAuthUsername": "alice",
        "SipAuthPassword": "s3cret pass",
    }
    if spec.name in samples:
        return samples[spec.name]
    if spec.is_boolean:
        return "true"
    if spec.is_multi:
        assert spec.values
        return [spec.values[-1]]
    if spec.values:
        return spec.values[-1]
    if spec.is_integer:
        return str(spec.min if spec.min is not None else 10)
    if spec.format == "uri":
        return f"https://hooks.example.com/{spec.field_name}"
    return f"{spec.label} sample"


def satisfying(spec: ParameterSpec) -> dict[str, Any]:
    """Form data that meets every requirement of ``spec`` (and of what those need)."""
    data: dict[str, Any] = {}
    for rule in spec.requires:
        other = parameter(rule.parameter)
        if rule.endpoint == "sip":
            data.update({"to": SIP_TO, "from": "alice"})
            continue
        if rule.endpoint == "phone":
            data.update({"to": PHONE_TO})
            continue
        data.update(satisfying(other))
        if rule.values is not None:
            first = rule.values[0]
            data[other.field_name] = (
                ("true" if first else "false") if isinstance(first, bool) else first
            )
        else:
            data[other.field_name] = sample_value(other)
    return data


def data_with(spec: ParameterSpec, value: Any) -> dict[str, Any]:
    """A valid dial plus ``spec`` set to ``value``, its requirements met."""
    data = minimal_data(**satisfying(spec))
    data[spec.field_name] = value
    return data
