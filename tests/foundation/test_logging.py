from __future__ import annotations

import json
import logging

from dashboard.observability import JsonLinesFormatter, RedactSecretsFilter, RequestIdFilter


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)


def test_the_configured_auth_token_never_reaches_a_log_line(settings):
    settings.TWILIO_AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
    record = _record("calling with token %s", settings.TWILIO_AUTH_TOKEN)
    RedactSecretsFilter().filter(record)
    assert "f00dfeed" not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_authorization_headers_and_sip_passwords_are_redacted():
    record = _record(
        "headers={'Authorization': 'Basic QUM6c2VjcmV0'} body=SipAuthPassword=hunter2&To=sip:a@b"
    )
    RedactSecretsFilter().filter(record)
    message = record.getMessage()
    assert "QUM6c2VjcmV0" not in message and "hunter2" not in message
    assert "To=sip:a@b" in message


def test_json_lines_carry_the_request_id():
    record = _record("hello %s", "world")
    RequestIdFilter().filter(record)
    entry = json.loads(JsonLinesFormatter().format(record))
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert "request_id" in entry
