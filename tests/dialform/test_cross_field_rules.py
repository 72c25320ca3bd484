"""Rules across fields give a clear error on the right field before anything is queued."""

from __future__ import annotations

import pytest

from conferences.dialing.forms import DialForm
from conferences.schema import load_participant_schema, parameter
from tests.dialform.helpers import BYOC_SID, CALL_SID, SIP_TO, minimal_data, sample_value


def _errors(**data):
    form = DialForm(minimal_data(**data))
    form.is_valid()
    return form.errors


def test_coaching_true_needs_the_call_sid_to_coach():
    errors = _errors(coaching="true")
    assert errors["coaching"] == ["Coaching set to true needs Call SID to coach."]
    assert not _errors(coaching="true", call_sid_to_coach=CALL_SID)
    assert not _errors(coaching="false")


MACHINE_DETECTION_SETTINGS = [
    "machine_detection_timeout",
    "machine_detection_speech_threshold",
    "machine_detection_speech_end_threshold",
    "machine_detection_silence_timeout",
    "amd_status_callback",
]


@pytest.mark.parametrize("field", MACHINE_DETECTION_SETTINGS)
def test_machine_detection_settings_need_machine_detection(field):
    spec = next(s for s in load_participant_schema() if s.field_name == field)
    value = sample_value(spec)
    assert _errors(**{field: value})[field] == [f"{spec.label} needs Machine detection to be set."]
    assert not _errors(**{field: value, "machine_detection": "Enable"})


def test_the_amd_callback_method_needs_the_amd_callback():
    errors = _errors(machine_detection="Enable", amd_status_callback_method="GET")
    assert errors["amd_status_callback_method"] == [
        "AMD status callback method needs AMD status callback to be set."
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recording_channels", "dual"),
        ("recording_track", "inbound"),
        ("recording_status_callback", "https://hooks.example.com/rec"),
    ],
)
@pytest.mark.parametrize("record", [None, "", "false"])
def test_participant_recording_options_need_record_true(field, value, record):
    data = {field: value}
    if record is not None:
        data["record"] = record
    label = parameter("Record").label
    assert _errors(**data)[field] == [
        f"{DialForm().fields[field].label} only applies when {label} is true."
    ]
    assert not _errors(**data | {"record": "true"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("conference_trim", "do-not-trim"),
        ("conference_recording_status_callback", "https://h.example.com/c"),
    ],
)
def test_conference_recording_options_need_the_conference_to_be_recorded(field, value):
    for not_recording in (None, "false", "do-not-record"):
        data = {field: value}
        if not_recording:
            data["conference_record"] = not_recording
        assert _errors(**data)[field] == [
            f"{DialForm().fields[field].label} only applies when Conference record is "
            "true or record-from-start."
        ]
    for recording in ("true", "record-from-start"):
        assert not _errors(**{field: value, "conference_record": recording})


METHODS_AND_EVENTS = [
    spec for spec in load_participant_schema() if spec.format == "http-method" or spec.is_multi
]


@pytest.mark.parametrize("spec", METHODS_AND_EVENTS, ids=lambda spec: spec.name)
def test_methods_and_event_lists_need_their_url(spec):
    (rule,) = spec.requires
    url = parameter(rule.parameter)
    assert url.format == "uri"
    errors = _errors(**{spec.field_name: sample_value(spec)})
    assert errors[spec.field_name] == [f"{spec.label} needs {url.label} to be set."]
    # With the URL (and what the URL itself needs), the same value is accepted.
    context = {}
    for url_rule in url.requires:
        needed = parameter(url_rule.parameter)
        context[needed.field_name] = (
            "true" if url_rule.values == (True,) else (url_rule.values or [sample_value(needed)])[0]
        )
    assert not _errors(
        **context, **{spec.field_name: sample_value(spec), url.field_name: sample_value(url)}
    )


@pytest.mark.parametrize("field", ["sip_auth_username", "sip_auth_password"])
@pytest.mark.parametrize("to", ["+14155550100", "client:bob"])
def test_sip_credentials_are_only_for_sip_destinations(field, to):
    errors = _errors(to=to, sip_auth_username="alice", sip_auth_password="pw")
    label = DialForm().fields[field].label
    assert errors[field] == [f"{label} is only for SIP destinations: To must be a sip: address."]
    assert not _errors(
        to=SIP_TO, **{"from": "alice"}, sip_auth_username="alice", sip_auth_password="pw"
    )


def test_a_sip_password_needs_a_sip_username():
    errors = _errors(to=SIP_TO, **{"from": "alice"}, sip_auth_password="pw")
    assert errors["sip_auth_password"] == ["SIP auth password needs SIP auth username to be set."]


def test_a_byoc_trunk_only_applies_to_phone_numbers():
    assert not _errors(byoc=BYOC_SID)
    errors = _errors(to="client:bob", byoc=BYOC_SID)
    assert errors["byoc"] == ["BYOC only applies when To is a phone number."]


def test_a_rule_on_a_field_with_its_own_error_is_not_repeated():
    # An invalid status callback URL is reported once, not also as "needs Status callback".
    errors = _errors(status_callback="not a url", status_callback_method="GET")
    assert "status_callback" in errors
    assert "status_callback_method" not in errors
