"""The webhook self-test: a signed callback sent from this server to itself through
PUBLIC_BASE_URL, as Twilio would; what came back (or did not) names the misconfiguration."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.core import redis_connection
from conferences.gateway import signatures
from conferences.models import (
    User,
)

logger = logging.getLogger(__name__)


# --- The self-test --------------------------------------------------------------------


SELF_TEST_TTL_SECONDS = 600
SELF_TEST_PARAMETER = "SelfTest"


def _self_test_key(nonce: str) -> str:
    return f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:webhook-self-test:{nonce}"


class Cause:
    """Why a self-test failed, as the page names it."""

    SCHEME = "scheme"
    HOST = "host"
    PORT = "port"
    PATH = "path"
    DNS = "dns"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TLS = "tls"
    REDIRECT = "redirect"
    PROXY = "proxy"
    SIGNATURE = "signature"
    OTHER_SERVER = "other-server"
    SETUP = "setup"


@dataclass(frozen=True)
class SelfTestResult:
    ok: bool
    url: str
    summary: str
    cause: str = ""
    http_status: int | None = None
    elapsed_ms: int = 0


def record_self_test_arrival(nonce: str, *, verified: bool, checked_urls: Sequence[str]) -> bool:
    """Note that a self-test callback arrived (and whether it verified). False: no self-test
    is waiting for this nonce, so nothing is written."""
    value = json.dumps(
        {"state": "verified" if verified else "refused", "checked_urls": list(checked_urls)}
    )
    try:
        written = redis_connection.redis_client().set(
            _self_test_key(nonce), value, ex=SELF_TEST_TTL_SECONDS, xx=True
        )
    except redis.RedisError:
        logger.warning("webhook self-test arrival not recorded: Redis unreachable")
        return False
    return bool(written)


def run_self_test(*, actor: User | AnonymousUser | None) -> SelfTestResult:
    """Send a signed test callback to this app through PUBLIC_BASE_URL; say what happened."""
    result = _self_test()
    audit.record(
        audit.AuditAction.WEBHOOK_SELF_TEST,
        actor=actor,
        target_type="webhooks",
        outcome="ok" if result.ok else "failed",
        detail={"url": result.url, "cause": result.cause, "http_status": result.http_status},
    )
    log = logger.info if result.ok else logger.warning
    log("webhook self-test %s: %s", "passed" if result.ok else "failed", result.summary)
    return result


def _self_test() -> SelfTestResult:
    nonce = f"st-{secrets.token_hex(12)}"
    path = reverse("conferences:webhook-self-test", kwargs={"nonce": nonce})
    url = f"{settings.PUBLIC_BASE_URL}{path}"
    account = twilio_accounts.default_account()
    tokens = twilio_accounts.signing_tokens(account.account_sid)
    if not tokens:
        return SelfTestResult(
            False, url, "The default Twilio account has no auth token to sign with.", Cause.SETUP
        )
    key = _self_test_key(nonce)
    try:
        client = redis_connection.redis_client()
        client.set(key, json.dumps({"state": "sent"}), ex=SELF_TEST_TTL_SECONDS)
    except redis.RedisError:
        return SelfTestResult(
            False, url, "Redis is unreachable, so an arrival could not be noted.", Cause.SETUP
        )
    params = [
        ("AccountSid", account.account_sid),
        (SELF_TEST_PARAMETER, nonce),
        ("Timestamp", format_datetime(timezone.now().astimezone(UTC), usegmt=True)),
    ]
    headers = {
        "X-Twilio-Signature": signatures.twilio_signature(tokens[0], url, params),
        "User-Agent": "TwilioProxy/1.1 (dashboard webhook self-test)",
    }
    timeout = settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS
    started = time.monotonic()
    try:
        response = requests.post(
            url, data=params, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return _transport_failure(url, error, elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    try:
        raw = client.get(key)
    except redis.RedisError:
        raw = None
    arrival: dict[str, Any] = json.loads(raw) if raw else {}
    return _answer(url, response, arrival, elapsed)


def _netloc(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _speaks_plain_http(url: str) -> bool:
    parts = urlsplit(url)
    try:
        requests.get(
            f"http://{parts.netloc}/healthz",
            timeout=min(2.0, settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS),
            allow_redirects=False,
        )
    except requests.RequestException:
        return False
    return True


_DNS_WORDS = (
    "NameResolutionError",
    "Name or service not known",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "getaddrinfo failed",
    "No address associated",
)


def _transport_failure(url: str, error: Exception, elapsed_ms: int) -> SelfTestResult:
    host, port = _netloc(url)
    scheme = urlsplit(url).scheme
    text = str(error)

    def failed(cause: str, summary: str) -> SelfTestResult:
        return SelfTestResult(False, url, summary, cause, None, elapsed_ms)

    if isinstance(error, requests.exceptions.SSLError):
        if scheme == "https" and _speaks_plain_http(url):
            return failed(
                Cause.SCHEME,
                f"PUBLIC_BASE_URL starts with https:// but {host}:{port} speaks plain http. "
                "Behind a TLS-terminating proxy, PUBLIC_BASE_URL must be the proxy's https "
                "address; without one, it must start with http://.",
            )
        return failed(
            Cause.TLS,
            f"The TLS handshake with {host}:{port} failed: is its certificate valid for "
            f"{host}? ({type(error).__name__})",
        )
    if isinstance(error, requests.exceptions.Timeout):
        return failed(
            Cause.TIMEOUT,
            f"No answer from {host}:{port} within {settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS:g} "
            "s: a firewall may drop the traffic, or the proxy cannot reach the app.",
        )
    if isinstance(error, requests.exceptions.ConnectionError):
        if any(words in text for words in _DNS_WORDS):
            return failed(
                Cause.DNS,
                f"The host name {host} does not resolve (DNS): check the host in PUBLIC_BASE_URL.",
            )
        if "refused" in text.lower():
            return failed(
                Cause.PORT,
                f"Nothing accepts connections at {host}:{port} (connection refused): the port "
                "in PUBLIC_BASE_URL is wrong, or the proxy in front of the app is not running.",
            )
        hint = (
            f" If {host}:{port} expects TLS, PUBLIC_BASE_URL must start with https://."
            if scheme == "http"
            else ""
        )
        return failed(
            Cause.CONNECTION,
            f"The connection to {host}:{port} failed ({type(error).__name__}).{hint}",
        )
    return failed(Cause.CONNECTION, f"The request failed: {type(error).__name__}.")


def _answer(
    url: str, response: requests.Response, arrival: dict[str, Any], elapsed_ms: int
) -> SelfTestResult:
    status = response.status_code
    state = arrival.get("state")
    base = settings.PUBLIC_BASE_URL

    def result(ok: bool, summary: str, cause: str = "") -> SelfTestResult:
        return SelfTestResult(ok, url, summary, cause, status, elapsed_ms)

    if state == "verified":
        if 200 <= status < 300:
            return result(
                True,
                f"The test callback reached this app through {base} and its signature "
                f"verified ({elapsed_ms} ms).",
            )
        return result(
            False,
            f"The app received and verified the test callback, but the answer came back as "
            f"HTTP {status}: something between Twilio and the app changes the answers.",
            Cause.PROXY,
        )
    if state == "refused":
        return _signature_mismatch(url, arrival.get("checked_urls") or [], result)
    return _never_arrived(url, response, result)


def _port_of(parts: Any) -> int:
    return int(parts.port or (443 if parts.scheme == "https" else 80))


def _signature_mismatch(url: str, checked: Sequence[str], result: Any) -> SelfTestResult:
    signed = urlsplit(url)
    other = urlsplit(checked[0]) if checked else signed
    differences = [
        (cause, f"{name} ({mine} signed, {theirs} checked)")
        for cause, name, mine, theirs in (
            (Cause.SCHEME, "scheme", signed.scheme, other.scheme),
            (Cause.HOST, "host", signed.hostname, other.hostname),
            (Cause.PORT, "port", _port_of(signed), _port_of(other)),
            (Cause.PATH, "path", signed.path, other.path),
        )
        if mine != theirs
    ]
    if not differences:
        return result(
            False,
            "The test callback reached the app, but its signature did not verify although the "
            "URLs agree: the web processes do not share one TWILIO_AUTH_TOKEN.",
            Cause.SIGNATURE,
        )
    named = ", ".join(words for _cause, words in differences)
    return result(
        False,
        f"The test callback reached the app, but the app checked its signature against "
        f"{checked[0]} while it was signed for {url}: the {named} differ. With "
        "WEBHOOK_TRUST_FORWARDED_HEADERS the proxy's X-Forwarded-Proto/Host/Port must "
        "describe PUBLIC_BASE_URL; otherwise PUBLIC_BASE_URL must be the address Twilio uses.",
        differences[0][0],
    )


def _never_arrived(url: str, response: requests.Response, result: Any) -> SelfTestResult:
    status = response.status_code
    parts = urlsplit(url)
    host, port = _netloc(url)
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        if parts.scheme == "http" and location.startswith("https://"):
            return result(
                False,
                f"{parts.scheme}://{parts.netloc} redirects to https ({location}): Twilio does "
                "not follow redirects. Set PUBLIC_BASE_URL to the https:// address.",
                Cause.SCHEME,
            )
        return result(
            False,
            f"The URL answered a redirect to {location or '(no Location)'}: Twilio does not "
            "follow redirects. Set PUBLIC_BASE_URL to the address that answers directly.",
            Cause.REDIRECT,
        )
    body = response.text[:2000] if response.content else ""
    if status == 400 and parts.scheme == "http" and "https" in body.lower():
        return result(
            False,
            f"{host}:{port} expects TLS: PUBLIC_BASE_URL must start with https://.",
            Cause.SCHEME,
        )
    if status == 404:
        prefix = urlsplit(settings.PUBLIC_BASE_URL).path.rstrip("/")
        return result(
            False,
            f"{url} answered 404 before reaching the self-test endpoint: the path prefix in "
            f"PUBLIC_BASE_URL ({prefix or 'none'}) does not match how the proxy forwards to "
            "the app (it must strip exactly that prefix and pass /webhooks/ on).",
            Cause.PATH,
        )
    if status == 400:
        return result(
            False,
            f"{host} answered 400 before the request reached the endpoint: Django refuses a "
            f"Host header that is not in ALLOWED_HOSTS (is {host} listed?), or the proxy "
            "refused the request.",
            Cause.HOST,
        )
    if status in (502, 503, 504):
        return result(
            False,
            f"A proxy at {host}:{port} answered {status}: it cannot reach the app (wrong "
            "upstream address or port, or the app is down).",
            Cause.PROXY,
        )
    if 200 <= status < 300:
        return result(
            False,
            f"Something at {host}:{port} answered {status}, but the test callback never "
            "arrived here: PUBLIC_BASE_URL points at another server (host or port).",
            Cause.OTHER_SERVER,
        )
    return result(
        False,
        f"{host}:{port} answered HTTP {status} and the test callback never arrived: a proxy "
        "or firewall in between refuses it.",
        Cause.PROXY,
    )
