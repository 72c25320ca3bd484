"""A share of 429 answers, as when Twilio counts too many concurrent requests."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from twilio_sandbox.faults import Faults


def test_a_chosen_share_of_requests_answers_429_with_code_20429(sandbox, client):
    sandbox.set_faults(Faults.from_json({"error_rate": 1.0, "error_statuses": [429]}))
    with pytest.raises(TwilioRestException) as error:
        client.conferences("rate").participants.create(from_="+15005550006", to="+15005550006")
    assert (error.value.status, error.value.code) == (429, 20429)
    sandbox.set_faults(Faults())
    # Refused before anything was done: no call exists.
    assert client.calls.list() == []


def test_other_error_statuses_are_still_refused():
    with pytest.raises(ValueError, match="429, 500, 502, 503, 504"):
        Faults.from_json({"error_statuses": [404]})
