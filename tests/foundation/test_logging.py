from __future__ import annotations

import json
import logging
import logging.config
import sys

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


def _text_formatter(settings) -> logging.Formatter:
    """The text formatter exactly as LOGGING configures it."""
    configurator = logging.config.DictConfigurator({})
    return configurator.configure_formatter(dict(settings.LOGGING["formatters"]["text"]))


def test_a_newline_in_a_conference_name_cannot_forge_a_text_log_line(settings):
    """Issue 18, finding 6: control characters are escaped in the text format."""
    name = (
        "Board\n2026-12-06 04:00:00,000 WARNING [-] conferences.audit: supervisor \x1b[2Jsam\u2028"
    )
    record = _record("conference %s opened", name)
    RequestIdFilter().filter(record)
    line = _text_formatter(settings).format(record)
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert "Board\\n2026-12-06" in line and "\\x1b[2J" in line and "\\u2028" in line
    assert record.getMessage() == f"conference {name} opened"  # other handlers see it as is


def test_a_traceback_stays_indented_under_its_record(settings):
    try:
        raise ValueError("bad\n2026-12-06 04:00:00,000 INFO forged")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RequestIdFilter().filter(record)
    first, *rest = _text_formatter(settings).format(record).split("\n")
    assert first.endswith("t: failed")
    assert rest and all(line.startswith("    ") for line in rest)
