"""One valid and one invalid value per kind of constraint, and every range at its edges."""

from __future__ import annotations

from typing import Any

import pytest

from conferences.dialing.forms import DialForm
from conferences.schema import load_participant_schema, parameter
from tests.dialform.helpers import CALL_SID, data_with, minimal_data, sample_value, satisfying


def _errors_for(name: str, value: Any) -> list[str]:
    form = DialForm(data_with(parameter(name), value))
    form.is_valid()
    return [str(error) for error in form.errors.get(parameter(name).field_name, [])]


@pytest.mark.parametrize(
    ("name", "valid", "invalid", "message"),
    [
        ("Beep", "onEnter", "loud", "Select a valid choice"),  # enum value
        ("Region", "us2", "eu1", "Select a valid choice"),
        ("StatusCallbackMethod", "GET", "PUT", "Select a valid choice"),
        # Conference events are the short names, not the callbacks' names.
        ("ConferenceStatusCallbackEvent", ["join", "leave"], ["participant-join"], "valid choice"),
        ("StatusCallbackEvent", ["ringing", "answered"], ["in-progress"], "valid choice"),
        ("CallSidToCoach", CALL_SID, "CA" + "z" * 32, "32 hexadecimal characters"),  # pattern
        ("Byoc", "BY" + "a" * 32, "CA" + "a" * 32, "“BY” followed by 32"),
        ("Label", "agent 7", "agents/7", "cannot contain “/”"),
        ("Label", "agent 7", "agents%2F7", "cannot contain “/”"),
        ("Label", "agent 7", "CA" + "a" * 32, "cannot look like a Call SID"),
        ("CallReason", "x" * 64, "x" * 65, "at most 64 characters"),  # length
        ("Label", "x" * 128, "x" * 129, "at most 128 characters"),
        ("CallSidToCoach", CALL_SID, "CA1234", "at least 34 characters"),
        ("StatusCallback", "https://hooks.example.com/s", "ftp://hooks.example.com/s", "absolute"),
        ("WaitUrl", "http://hooks.example.com/hold", "hooks.example.com/hold", "absolute"),
        ("AmdStatusCallback", "https://hooks.example.com/amd", "/relative/amd", "absolute"),
        ("Timeout", "30", "thirty", "Enter a whole number"),  # integer type
        ("MaxParticipants", "10", "10.5", "Enter a whole number"),
        ("Muted", "false", "maybe", "Select a valid choice"),  # boolean
        ("To", "client:alice", "client:", "not a valid client identity"),  # endpoint form
        ("To", "sip:bob@example.com", "sip:bob", "not a SIP address"),
        ("From", "client:agent_7", "client:agent 7", "not a valid client identity"),
    ],
)
def test_a_valid_value_passes_and_an_invalid_one_is_refused(name, valid, invalid, message):
    if name == "From":
        # A client caller needs a destination that is not a phone number.
        valid_form = DialForm(minimal_data(to="client:bob", **{"from": valid}))
        invalid_form = DialForm(minimal_data(to="client:bob", **{"from": invalid}))
        assert valid_form.is_valid(), valid_form.errors
        assert not invalid_form.is_valid()
        assert message in " ".join(str(e) for e in invalid_form.errors["from"])
        return
    assert _errors_for(name, valid) == []
    errors = _errors_for(name, invalid)
    assert errors and message in " ".join(errors), errors


RANGED = [spec for spec in load_participant_schema() if spec.min is not None]


@pytest.mark.parametrize("spec", RANGED, ids=lambda spec: spec.name)
def test_ranges_accept_their_edges_and_refuse_one_past(spec):
    assert spec.max is not None
    assert _errors_for(spec.name, str(spec.min)) == []
    assert _errors_for(spec.name, str(spec.max)) == []
    below = _errors_for(spec.name, str(spec.min - 1))
    above = _errors_for(spec.name, str(spec.max + 1))
    assert below == [f"Ensure this value is greater than or equal to {spec.min}."]
    assert above == [f"Ensure this value is less than or equal to {spec.max}."]


def test_the_ranges_the_issue_names_are_enforced():
    bounds = {spec.name: (spec.min, spec.max) for spec in RANGED}
    assert bounds["Timeout"] == (5, 600)
    assert bounds["MaxParticipants"] == (2, 250)
    assert bounds["MachineDetectionSilenceTimeout"] == (2000, 10000)
    assert bounds["MachineDetectionSpeechEndThreshold"] == (500, 5000)
    assert bounds["MachineDetectionSpeechThreshold"] == (1000, 6000)
    assert bounds["TimeLimit"] == (60, 86400)


@pytest.mark.parametrize("field", ["conference", "to", "from"])
def test_conference_to_and_from_are_required(field):
    data = minimal_data()
    del data[field]
    form = DialForm(data)
    assert not form.is_valid()
    assert form.errors[field] == ["This field is required."]


def test_the_conference_is_a_friendly_name_or_a_conference_sid():
    assert DialForm(minimal_data(conference="CF" + "AB" * 16)).is_valid()
    form = DialForm(minimal_data(conference="CF" + "AB" * 16))
    form.is_valid()
    assert form.conference_name() == "CF" + "ab" * 16
    assert DialForm(minimal_data(conference="x" * 128)).is_valid()
    too_long = DialForm(minimal_data(conference="x" * 129))
    assert not too_long.is_valid()
    assert "at most 128 characters" in too_long.errors["conference"][0]
    slash = DialForm(minimal_data(conference="sales/emea"))
    assert not slash.is_valid()
    assert "cannot contain “/”" in slash.errors["conference"][0]


@pytest.mark.parametrize("spec", load_participant_schema(), ids=lambda spec: spec.name)
def test_every_parameter_accepts_a_sample_value_once_its_requirements_are_met(spec):
    form = DialForm(data_with(spec, sample_value(spec)))
    assert form.is_valid(), form.errors
    assert spec.name in form.twilio_params()
    for requirement_field in satisfying(spec):
        assert requirement_field in form.fields
