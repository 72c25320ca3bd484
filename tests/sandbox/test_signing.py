"""The sandbox's own HMAC-SHA1 signer agrees with Twilio's documented vector and the SDK."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from tests.sandbox.helpers import ACCOUNT_SID, AUTH_TOKEN, FROM, Receiver, make_client
from twilio_sandbox.signing import compute_signature

KNOWN_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
KNOWN_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]


def test_signer_reproduces_the_documented_signature_vector() -> None:
    assert compute_signature("12345", KNOWN_URL, KNOWN_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_signer_is_independent_of_parameter_order() -> None:
    assert compute_signature("12345", KNOWN_URL, reversed(KNOWN_PARAMS)) == (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_signer_matches_the_sdk_for_repeated_and_unicode_values() -> None:
    params = [("Event", "b"), ("Event", "a"), ("Name", "Zoë")]
    expected = RequestValidator("tok").compute_signature(
        "https://x.test/hook", {"Event": "a", "Name": "Zoë"}
    )
    single = [("Event", "a"), ("Name", "Zoë")]
    assert compute_signature("tok", "https://x.test/hook", single) == expected
    assert compute_signature("tok", "https://x.test/hook", params) != expected


def test_post_callbacks_validate_with_the_sdk_request_validator(
    sandbox, receiver: Receiver
) -> None:
    client = make_client(sandbox)
    client.conferences("signed-post").participants.create(
        from_=FROM,
        to="+15005551001",
        status_callback=f"{receiver.url}/status?tenant=7",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    received = receiver.wait("/status", 4)
    validator = RequestValidator(AUTH_TOKEN)
    for request in received:
        assert request.method == "POST"
        assert validator.validate(
            request.url, request.flat(), request.headers["X-Twilio-Signature"]
        )
    assert not validator.validate(
        received[0].url,
        {**received[0].flat(), "CallStatus": "forged"},
        received[0].headers["X-Twilio-Signature"],
    )


def test_get_callbacks_put_params_in_the_url_and_validate(sandbox, receiver: Receiver) -> None:
    client = make_client(sandbox)
    participant = client.conferences("signed-get").participants.create(
        from_=FROM,
        to="+15005551001",
        status_callback=f"{receiver.url}/status",
        status_callback_method="GET",
    )
    (request,) = receiver.wait("/status", 1)
    assert request.method == "GET"
    assert request.one("CallSid") == participant.call_sid
    assert request.one("AccountSid") == ACCOUNT_SID
    assert "Content-Type" not in request.headers
    assert RequestValidator(AUTH_TOKEN).validate(
        request.url, {}, request.headers["X-Twilio-Signature"]
    )
