"""Request ids and log records that never carry a secret."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Tag each request with an id (the proxy's X-Request-ID when sane) for logs and replies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# Values that must never reach a log line, whatever code formats them.
_SECRET_PATTERNS = [
    re.compile(
        r"(?i)(authorization['\"]?\s*[:=]?\s*['\"]?\s*(?:basic|bearer)\s+)[A-Za-z0-9+/=._-]+"
    ),
    re.compile(r"(?i)(sip_?auth_?password['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+"),
    re.compile(r"(?i)(auth_?token['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+"),
    re.compile(r"(?i)(api_?key_?secret['\"]?\s*[:=]\s*['\"]?)[^'\"&\s,}]+"),
]


def _configured_secrets() -> list[str]:
    names = ("TWILIO_AUTH_TOKEN", "TWILIO_PREVIOUS_AUTH_TOKEN", "TWILIO_API_KEY_SECRET")
    values = [str(getattr(settings, name, "") or "") for name in names]
    return [value for value in values if len(value) >= 8]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    for secret in _configured_secrets():
        text = text.replace(secret, "[redacted]")
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """Text from outside (a conference name, a header) fit for one line: a newline becomes
    a backslash and "n", other controls their hex escape, so it cannot start a line."""

    def escaped(match: re.Match[str]) -> str:
        char = match.group()
        return _ESCAPES.get(char) or (
            f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
        )

    return _CONTROL_CHARACTERS.sub(escaped, text)


class TextLinesFormatter(logging.Formatter):
    """One line per record: control characters in the message are escaped, so a newline in
    a conference name cannot forge a log line; a traceback's lines are indented under it."""

    def format(self, record: logging.LogRecord) -> str:
        original = record.msg, record.args
        record.msg, record.args = escape_controls(record.getMessage()), None
        try:
            text = super().format(record)
        finally:
            record.msg, record.args = original
        first, *rest = text.split("\n")
        return "\n".join([first, *(f"    {line}" for line in rest)])


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: easy to ship to any log store."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
