"""The callback events asked of Twilio come from one home, held to the schema."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conferences.callbacks.addresses import CALLBACK_PARAMETERS
from conferences.callbacks.relay import DEFAULT_EVENTS
from conferences.dialing.submission import wire_params
from conferences.schema import parameter
from conferences.schema.callback_events import BY_URL_PARAMETER, CALLBACK_EVENTS

EVENT_LISTS = [events for events in CALLBACK_EVENTS if events.events_parameter]


def test_every_callback_url_of_the_schema_has_one_entry():
    assert set(BY_URL_PARAMETER) == set(CALLBACK_PARAMETERS)
    for url_parameter in BY_URL_PARAMETER:
        parameter(url_parameter)  # KeyError if the schema does not know it
        parameter(f"{url_parameter}Method")


@pytest.mark.parametrize("events", EVENT_LISTS, ids=lambda events: events.url_parameter)
def test_the_apps_own_events_and_defaults_are_events_twilio_offers(events):
    assert set(events.app_events) <= set(events.offered)
    assert set(events.twilio_default) <= set(events.offered)


def test_the_relay_defaults_are_twilios_as_the_schema_states_them():
    assert DEFAULT_EVENTS["call-status"] == parameter("StatusCallbackEvent").default
    assert DEFAULT_EVENTS["conference"] == parameter("ConferenceStatusCallbackEvent").default


@st.composite
def a_choice(draw):
    events = draw(st.sampled_from(EVENT_LISTS))
    return events, draw(st.lists(st.sampled_from(events.offered), unique=True))


@given(a_choice())
def test_twilio_is_asked_for_every_chosen_event_and_nothing_it_does_not_offer(choice):
    events, chosen = choice
    requested = events.requested(chosen)
    assert set(chosen) <= set(requested) <= set(events.offered)
    assert len(requested) == len(set(requested))
    assert requested[: len(events.app_events)] == list(events.app_events)


def test_all_eight_recording_events_an_operator_picks_are_requested_and_relayed():
    picked = parameter("RecordingStatusCallbackEvent").values
    assert picked is not None and len(picked) == 8
    params, relay_targets = wire_params(
        7,
        {
            "To": "+15005550006",
            "From": "+15005550006",
            "Record": "true",
            "RecordingStatusCallback": "https://hooks.example.com/recordings",
            "RecordingStatusCallbackEvent": list(picked),
        },
    )
    assert set(params["RecordingStatusCallbackEvent"]) == set(picked)
    assert relay_targets["recording"]["events"] == list(picked)


def test_speaker_is_asked_for_only_when_the_operator_wants_it():
    quiet, _ = wire_params(7, {"To": "+15005550006", "From": "+15005550006"})
    assert "speaker" not in quiet["ConferenceStatusCallbackEvent"]
    chatty, _ = wire_params(
        7,
        {
            "To": "+15005550006",
            "From": "+15005550006",
            "ConferenceStatusCallbackEvent": ["speaker"],
        },
    )
    assert chatty["ConferenceStatusCallbackEvent"][-1] == "speaker"
