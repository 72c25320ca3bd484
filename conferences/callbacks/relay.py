"""Relays callbacks to the operators' own URLs, signed as Twilio would sign them.

Only the events an operator asked for are forwarded, with their method and Twilio's
original parameters. A target must be on the supervisors' allow-list and resolve to
public addresses only; the connection goes to the address that was checked (no second
lookup an attacker could answer differently), redirects are not followed and timeouts
are short. Each relay is a RelayDelivery row written with the event, so a relay that
fails, or whose task is lost, never touches the app's own record."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.callbacks import addresses as own_addresses
from conferences.callbacks import meaning as callback_meaning
from conferences.callbacks.addresses import CALLBACK_PARAMETERS, DEFAULT_PORTS
from conferences.core import task_queue
from conferences.gateway.signatures import twilio_signature
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    DialRequest,
    RelayAllowedHost,
    RelayDelivery,
    RelayDeliveryStatus,
)
from conferences.schema.callback_events import BY_URL_PARAMETER

logger = logging.getLogger(__name__)

USER_AGENT = "conference-dialin-dashboard relay"
# Events relayed when the operator gave a URL but no events (Twilio's own defaults).
DEFAULT_EVENTS: dict[str, tuple[str, ...]] = {
    kind: BY_URL_PARAMETER[url_parameter].twilio_default
    for url_parameter, kind in CALLBACK_PARAMETERS.items()
}


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def max_attempts() -> int:
    return int(_setting("RELAY_MAX_ATTEMPTS", 6))


def timeout_seconds() -> float:
    return _setting("RELAY_TIMEOUT_SECONDS", 5.0)


def retry_delay(attempts: int) -> float:
    """Exponential backoff after `attempts` failed tries: base, 2x base, 4x base, … capped."""
    base = _setting("RELAY_RETRY_BASE_SECONDS", 2.0)
    cap = _setting("RELAY_RETRY_MAX_SECONDS", 60.0)
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def param_pairs(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((name, str(each)) for each in values)
    return pairs


# --- Scheduling (in the webhook's transaction) -----------------------------------------


@dataclass(frozen=True)
class RelayTarget:
    url: str
    method: str
    events: tuple[str, ...]


def relay_target(dial: DialRequest, kind: str) -> RelayTarget | None:
    """The operator's own callback for this kind, if they gave one in a usable shape."""
    raw = (dial.relay_targets or {}).get(kind)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("url"), str) or not raw["url"]:
        return None
    method = str(raw.get("method") or "POST").upper()
    events = raw.get("events") or DEFAULT_EVENTS.get(kind, ())
    if isinstance(events, str):  # Twilio's own space-separated spelling
        events = events.split()
    return RelayTarget(
        url=raw["url"].strip(),
        method=method if method in ("GET", "POST") else "POST",
        events=tuple(str(event) for event in events),
    )


def schedule_relay(event: CallbackEvent, url_dial: DialRequest | None) -> RelayDelivery | None:
    """Record a relay for the event if the dial's operator asked for it; send after commit."""
    if url_dial is None:
        return None
    target = relay_target(url_dial, event.kind)
    if target is None:
        return None
    name = callback_meaning.relay_event_name(event.kind, event.event)
    if event.kind != CallbackKind.AMD and name not in target.events:
        return None
    delivery = RelayDelivery.objects.create(
        event=event, dial=url_dial, url=target.url[:2000], method=target.method
    )
    # robust: a broker outage must not turn a stored callback into an error answer; the
    # pending row stays for `resend_pending_relays`.
    transaction.on_commit(partial(enqueue_relay, delivery.pk), robust=True)
    return delivery


def enqueue_relay(delivery_id: int) -> None:
    task_queue.task(task_queue.RELAY_CALLBACK).delay(delivery_id)


# --- Checking a target -----------------------------------------------------------------


class RelayRefused(Exception):
    """The target is not allowed: not on the allow-list, or not a public address."""


@dataclass(frozen=True)
class CheckedTarget:
    scheme: str
    host: str
    port: int
    address: str  # the resolved, checked IP to connect to
    target: str  # path and query for the request line


NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# RFC 6052: where a translator of a /32 … /64 prefix puts the IPv4 address (bits 64-71,
# the "u" octet, are skipped); a local-use prefix may be any of them.
_RFC6052_PREFIX_LENGTHS = (32, 40, 48, 56, 64)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a connection to this IPv6 address may reach: IPv4-mapped,
    NAT64 (well-known, and every layout of the local-use prefix), 6to4, IPv4-compatible."""
    value = int(ip)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip in NAT64_WELL_KNOWN or ip in IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    if ip in NAT64_LOCAL_USE:
        without_u = ((value >> 64) << 56) | (value & ((1 << 56) - 1))
        found = [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
        for length in _RFC6052_PREFIX_LENGTHS:
            found.append(ipaddress.IPv4Address((without_u >> (120 - length - 32)) & 0xFFFFFFFF))
        return found
    return []


def _is_public(address: str) -> bool:
    """A global unicast address; one that embeds IPv4 is judged by what it embeds."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (inner := embedded_ipv4(ip)):
        return all(each.is_global and not each.is_multicast for each in inner)
    return ip.is_global and not ip.is_multicast


def allowed_host(host: str, port: int, scheme: str) -> bool:
    """On the allow-list: an active entry for the host with this port (or none: default port)."""
    entries = RelayAllowedHost.objects.filter(host=host.lower().rstrip("."), active=True)
    return any(
        entry.port == port if entry.port else port == DEFAULT_PORTS[scheme] for entry in entries
    )


def check_target_url(url: str) -> str | None:
    """Why a relay URL is refused before any lookup (None: fine). For forms, too."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return "only http and https URLs with a host name"
    if parts.username or parts.password:
        return "URLs with credentials are not relayed"
    port = port or DEFAULT_PORTS[parts.scheme]
    # A relay is signed with the account's real token: the app's own webhooks would take
    # it for Twilio's callback, so neither their path (on any host) nor the app's host.
    if own_addresses.reaches_own_webhooks(parts.path):
        return "that is the path of this app's own webhooks"
    if own_addresses.answers_as_itself(parts.hostname, port, parts.scheme):
        return f"{parts.hostname} is this app's own address"
    if not allowed_host(parts.hostname, port, parts.scheme):
        return f"{parts.hostname} is not on the relay allow-list"
    return None


def _own_ip_addresses(ports: set[int]) -> set[str]:
    """The addresses PUBLIC_BASE_URL's host resolves to, if a relay port is its port."""
    public = urlsplit(str(settings.PUBLIC_BASE_URL))
    public_port = public.port or DEFAULT_PORTS.get(public.scheme, 80)
    if public_port not in ports or not public.hostname:
        return set()
    try:
        infos = socket.getaddrinfo(public.hostname, public_port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return set()
    return {str(info[4][0]) for info in infos}


def resolve_target(url: str) -> CheckedTarget:
    """Check the URL against the allow-list and resolve it to one public address that is
    not the app's own."""
    reason = check_target_url(url)
    if reason:
        raise RelayRefused(reason)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ConnectionError(f"cannot resolve {host}: {error}") from None
    found = [str(info[4][0]) for info in infos]
    allow_private = bool(getattr(settings, "RELAY_ALLOW_PRIVATE_ADDRESSES", False))
    # One private answer refuses them all: the connection must not be steerable inside.
    if not allow_private and not all(_is_public(address) for address in found):
        raise RelayRefused(f"{host} resolves to a private, loopback or link-local address")
    if not found:
        raise ConnectionError(f"{host} has no address")
    if set(found) & _own_ip_addresses({port, DEFAULT_PORTS[parts.scheme]}):
        raise RelayRefused(f"{host} resolves to this app's own address")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return CheckedTarget(parts.scheme, host, port, found[0], target)


# --- Sending ---------------------------------------------------------------------------


class _PinnedHTTPConnection(HTTPConnection):
    """Speaks to `address` while the Host header names the host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(HTTPSConnection):
    """Speaks TLS to `address`, checking the certificate against the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


@dataclass(frozen=True)
class RelayRequest:
    method: str
    target: str
    body: bytes | None
    headers: dict[str, str]


def build_request(delivery: RelayDelivery, checked: CheckedTarget, token: str) -> RelayRequest:
    pairs = param_pairs(delivery.event.params)
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        # The same on every retry of one event, so the receiver can drop repeats.
        "I-Twilio-Idempotency-Token": hashlib.sha256(
            delivery.event.dedupe_key.encode()
        ).hexdigest()[:32],
    }
    if delivery.method == "GET":
        separator = "&" if "?" in delivery.url else "?"
        url = delivery.url + separator + urlencode(pairs)
        target = checked.target + ("&" if "?" in checked.target else "?") + urlencode(pairs)
        headers["X-Twilio-Signature"] = twilio_signature(token, url, ())
        return RelayRequest("GET", target, None, headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["X-Twilio-Signature"] = twilio_signature(token, delivery.url, pairs)
    return RelayRequest("POST", checked.target, urlencode(pairs).encode(), headers)


@dataclass(frozen=True)
class AttemptResult:
    status: str  # RelayDeliveryStatus after this attempt
    retry: bool  # worth trying again later


def _send(checked: CheckedTarget, request: RelayRequest) -> int:
    connection_type = _PinnedHTTPSConnection if checked.scheme == "https" else _PinnedHTTPConnection
    connection = connection_type(
        checked.host, checked.port, address=checked.address, timeout=timeout_seconds()
    )
    try:
        connection.request(
            request.method, request.target, body=request.body, headers=request.headers
        )
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer is not used; don't wait for a huge one
        return response.status
    finally:
        connection.close()


def _finish(delivery_id: int, **fields: Any) -> None:
    RelayDelivery.objects.filter(pk=delivery_id).update(**fields)


def attempt_delivery(delivery_id: int) -> AttemptResult:
    """One try at sending a relay; records the outcome on its RelayDelivery row."""
    delivery = RelayDelivery.objects.select_related("event").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != RelayDeliveryStatus.PENDING:
        return AttemptResult(delivery.status if delivery else RelayDeliveryStatus.FAILED, False)
    # Claim this attempt; a second copy of the task that lost the race does nothing.
    claimed = RelayDelivery.objects.filter(
        pk=delivery_id, status=RelayDeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    if not claimed:
        return AttemptResult(RelayDeliveryStatus.PENDING, False)
    attempts = delivery.attempts + 1
    tokens = twilio_accounts.signing_tokens(delivery.event.account_sid)
    if not tokens:
        _finish(delivery_id, status=RelayDeliveryStatus.FAILED, last_error="no auth token to sign")
        return AttemptResult(RelayDeliveryStatus.FAILED, False)
    try:
        checked = resolve_target(delivery.url)
        status_code = _send(checked, build_request(delivery, checked, tokens[0]))
    except RelayRefused as refusal:
        logger.warning("Relay #%s refused: %s", delivery_id, refusal)
        _finish(delivery_id, status=RelayDeliveryStatus.REFUSED, last_error=str(refusal))
        return AttemptResult(RelayDeliveryStatus.REFUSED, False)
    except (OSError, HTTPException) as error:  # DNS, connect, TLS, timeout, bad answer
        return _failed(delivery_id, attempts, None, f"{type(error).__name__}: {error}"[:1000])
    if 200 <= status_code < 300:
        _finish(
            delivery_id,
            status=RelayDeliveryStatus.DELIVERED,
            last_status_code=status_code,
            last_error="",
            delivered_at=timezone.now(),
        )
        return AttemptResult(RelayDeliveryStatus.DELIVERED, False)
    if 300 <= status_code < 400:
        return _failed(
            delivery_id, attempts, status_code, "redirects are not followed", retry=False
        )
    retry = status_code >= 500 or status_code in (408, 429)
    return _failed(delivery_id, attempts, status_code, f"answered HTTP {status_code}", retry=retry)


def _failed(
    delivery_id: int, attempts: int, status_code: int | None, error: str, *, retry: bool = True
) -> AttemptResult:
    retry = retry and attempts < max_attempts()
    status = RelayDeliveryStatus.PENDING if retry else RelayDeliveryStatus.FAILED
    _finish(delivery_id, status=status, last_status_code=status_code, last_error=error)
    logger.info("Relay #%s attempt %s failed: %s", delivery_id, attempts, error)
    return AttemptResult(status, retry)
