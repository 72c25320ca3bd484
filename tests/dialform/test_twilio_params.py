"""twilio_params() is the Create Participant body for what the operator set, as Twilio
expects it, and nothing else."""

from __future__ import annotations

import pytest

from conferences.dialing.forms import DialForm
from conferences.schema import load_participant_schema, secret_parameters
from tests.dialform.helpers import SIP_TO, minimal_data


def _params(**data):
    form = DialForm(minimal_data(**data))
    assert form.is_valid(), form.errors
    return form.twilio_params()


def test_only_what_was_set_is_sent():
    # The conference is the URL's path, not a body parameter; defaults are never sent.
    assert _params() == {"To": "+14155550100", "From": "+14155550199"}


def test_unset_tri_state_booleans_and_empty_choices_are_left_out():
    params = _params(muted="", beep="", status_callback_event=[], timeout="")
    assert set(params) == {"To", "From"}


def test_booleans_are_sent_as_true_and_false_strings():
    params = _params(muted="false", start_conference_on_enter="true", early_media="false")
    assert params["Muted"] == "false"
    assert params["StartConferenceOnEnter"] == "true"
    assert params["EarlyMedia"] == "false"
    assert "EndConferenceOnExit" not in params


def test_integers_are_decimal_strings():
    params = _params(timeout="030", max_participants="12")
    assert (params["Timeout"], params["MaxParticipants"]) == ("30", "12")


def test_event_lists_stay_lists_for_repeated_keys():
    params = _params(
        status_callback="https://hooks.example.com/status",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        conference_status_callback="https://hooks.example.com/conf",
        conference_status_callback_event=["start", "end", "join"],
    )
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert params["ConferenceStatusCallbackEvent"] == ["start", "end", "join"]


def test_keys_are_twilios_exact_names():
    names = {spec.name for spec in load_participant_schema()}
    params = _params(
        label="agent 7",
        beep="onExit",
        record="true",
        recording_channels="dual",
        wait_url="https://hooks.example.com/hold",
        wait_method="GET",
    )
    assert set(params) <= names
    assert params["Beep"] == "onExit"
    assert params["RecordingChannels"] == "dual"
    assert params["WaitMethod"] == "GET"


def test_the_sip_password_is_sent_only_when_set_and_never_in_the_loggable_copy():
    assert "SipAuthPassword" not in _params()
    form = DialForm(
        minimal_data(
            to=SIP_TO, **{"from": "alice"}, sip_auth_username="alice", sip_auth_password=" pw "
        )
    )
    assert form.is_valid(), form.errors
    assert form.twilio_params()["SipAuthPassword"] == " pw "  # passwords are not stripped
    assert form.sip_auth_password() == " pw "
    assert "SipAuthPassword" not in form.loggable_twilio_params()
    assert form.loggable_twilio_params()["SipAuthUsername"] == "alice"
    assert secret_parameters() == frozenset({"SipAuthPassword"})
    assert secret_parameters() == {spec.name for spec in load_participant_schema() if spec.secret}


def test_no_password_means_none_from_the_accessor():
    form = DialForm(minimal_data())
    assert form.is_valid()
    assert form.sip_auth_password() is None


@pytest.mark.parametrize("method", ["twilio_params", "loggable_twilio_params", "sip_auth_password"])
def test_an_invalid_form_gives_no_parameters(method):
    form = DialForm(minimal_data(timeout="1"))
    with pytest.raises(ValueError, match="valid form"):
        getattr(form, method)()
