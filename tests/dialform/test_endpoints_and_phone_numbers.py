"""To, From and CallerId take the forms Twilio takes; phone numbers become E.164 and bad
ones get an error that says what is wrong."""

from __future__ import annotations

import pytest
from django.test import override_settings

from conferences.dialing.fields import normalise_phone_number
from conferences.dialing.forms import DialForm
from tests.dialform.helpers import PHONE_FROM, SIP_TO, minimal_data


def _cleaned(**data):
    form = DialForm(minimal_data(**data))
    assert form.is_valid(), form.errors
    return form.twilio_params()


def _errors(**data):
    form = DialForm(minimal_data(**data))
    assert not form.is_valid()
    return form.errors


@override_settings(PHONE_DEFAULT_REGION="US")
def test_a_national_us_number_becomes_e164():
    assert _cleaned(to="(415) 555-0100")["To"] == "+14155550100"
    assert _cleaned(**{"from": "415.555.0199"})["From"] == "+14155550199"
    assert _cleaned(caller_id="+1 (415) 555-0142")["CallerId"] == "+14155550142"


@override_settings(PHONE_DEFAULT_REGION="GB")
def test_national_numbers_are_read_in_the_configured_region():
    assert _cleaned(to="020 7946 0000")["To"] == "+442079460000"
    # A number with its country code is read as written, whatever the region.
    assert _cleaned(to="+1 415 555 0100")["To"] == "+14155550100"


@override_settings(PHONE_DEFAULT_REGION="US")
@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("junk", "“junk” is not a phone number."),
        ("415 555", "“415 555” is too short for a number in region US."),
        ("+1 415 555 01001234", "is too long for a number in region US."),
        ("+999 1234567", "“+999 1234567” has an unknown country code."),
        ("(415) 000-0000", "“(415) 000-0000” is not a valid number for region US."),
        ("555-0100", "is a local number; add the area code."),
    ],
)
def test_a_bad_number_gets_an_error_that_says_what_is_wrong(raw, says):
    errors = _errors(to=raw)["to"]
    assert says in errors[0]
    assert errors[1].startswith("Enter a phone number (e.g. +14155550100), a sip: address")


def test_the_phone_normaliser_stands_on_its_own():
    assert normalise_phone_number("(415) 555-0100", "US") == "+14155550100"


@pytest.mark.parametrize(
    ("to", "sent"),
    [
        ("sip:bob@example.com", "sip:bob@example.com"),
        ("SIP:bob@example.com:5061;transport=tls", "sip:bob@example.com:5061;transport=tls"),
        ("client:alice", "client:alice"),
        ("Client:alice?ticket=42", "client:alice?ticket=42"),
    ],
)
def test_to_takes_sip_addresses_and_client_identities(to, sent):
    data = {"to": to}
    if to.lower().startswith("client:"):
        data["from"] = "client:dispatcher"
    assert _cleaned(**data)["To"] == sent


@pytest.mark.parametrize("to", ["sip:example.com", "sip:bob@", "client:", "client:two words"])
def test_malformed_sip_and_client_destinations_are_refused(to):
    assert "to" in _errors(to=to)


def test_from_must_be_a_phone_number_when_to_is_one():
    errors = _errors(**{"from": "client:dispatcher"})
    assert errors["from"] == ["From must be a phone number when To is a phone number."]
    assert _cleaned(to="client:bob", **{"from": "client:dispatcher"})["From"] == "client:dispatcher"


def test_from_and_caller_id_may_be_a_sip_username_only_when_to_is_sip():
    params = _cleaned(to=SIP_TO, **{"from": "alice"}, caller_id="front.desk")
    assert (params["From"], params["CallerId"]) == ("alice", "front.desk")
    errors = _errors(**{"from": "alice"}, caller_id="front.desk")
    assert errors["from"][0] == "“alice” is not a phone number."
    assert errors["caller_id"][0] == "“front.desk” is not a phone number."


def test_from_takes_the_username_not_a_sip_uri():
    errors = _errors(to=SIP_TO, **{"from": "sip:alice@example.com"})
    assert errors["from"] == [
        "From takes the username part of a SIP address (alice), not a sip: URI."
    ]


def test_caller_id_follows_the_same_rules_as_from():
    assert _errors(caller_id="client:agent")["caller_id"] == [
        "Caller ID must be a phone number when To is a phone number."
    ]
    assert _cleaned(to="client:bob", **{"from": "client:x"}, caller_id="client:agent")


def test_the_configured_caller_ids_are_offered_and_free_entry_still_works():
    form = DialForm(minimal_data(**{"from": "+1 415 555 0142"}), caller_ids=[PHONE_FROM])
    assert form.caller_ids == (PHONE_FROM,)
    assert form.fields["from"].widget.attrs["list"] == form.caller_id_datalist_id
    assert form.fields["caller_id"].widget.attrs["list"] == form.caller_id_datalist_id
    assert form.is_valid(), form.errors
    assert form.twilio_params()["From"] == "+14155550142"
    assert "list" not in DialForm().fields["from"].widget.attrs
