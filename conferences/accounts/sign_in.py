"""Signing in: the sign-in form, whose address a failed try counts against, and when one
address trying many usernames is refused (django-axes keeps the counts).

Behind the reverse proxy every request comes from the proxy's address, so the client's
own address is read from X-Forwarded-For — but only when the request really comes from a
proxy named in TRUSTED_PROXIES: anyone else can write that header.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from ipware.ip import get_client_ip

from conferences.core.inputs import column_text_validators
from conferences.models import User

FORWARDED_FOR = ("HTTP_X_FORWARDED_FOR",)
# Proxies in front of proxies (a CDN before nginx) are each trusted; more hops than this
# in a chain of trusted addresses is no real deployment.
MAX_TRUSTED_HOPS = 8
# A failed try counts against the username from that address; enough failures from one
# address, whatever the usernames (password spraying), lock the address too.
BY_USERNAME_AND_ADDRESS = ["username", "ip_address"]
BY_ADDRESS = "ip_address"


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    # Entries are checked and normalised at start (dashboard.env.env_networks).
    return any(ip in ipaddress.ip_network(entry) for entry in settings.TRUSTED_PROXIES)


def client_address(request: HttpRequest) -> str | None:
    """The address a sign-in try comes from: the peer's, or — when the peer is a trusted
    proxy — the right-most address in X-Forwarded-For that is not itself a trusted proxy
    (what the client wrote further left is not believed)."""
    peer = request.META.get("REMOTE_ADDR") or None
    if peer is None or not _is_trusted_proxy(peer):
        return peer
    for hops in range(MAX_TRUSTED_HOPS):
        # django-ipware parses the header (ports, brackets, IPv4-mapped addresses);
        # proxy_count=N picks the entry N places from the right.
        address, _routable = get_client_ip(
            request, proxy_count=hops, request_header_order=FORWARDED_FOR, strict=False
        )
        if address is None:
            return peer  # no (usable) header: the proxy's own request
        if not _is_trusted_proxy(address):
            return address
    return peer


def _address_of(request_or_attempt: Any) -> str | None:
    if isinstance(request_or_attempt, AccessAttempt):
        return request_or_attempt.ip_address
    return getattr(request_or_attempt, "axes_ip_address", None)


def failures_from_address(address: str) -> int:
    """Failed sign-ins from this address within the cool-off time, whatever the usernames."""
    since = timezone.now() - timedelta(seconds=settings.AXES_COOLOFF_TIME.total_seconds())
    total = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start")
    )["failures"]
    return int(total or 0)


def lockout_parameters(request_or_attempt: Any, credentials: Any = None) -> list[Any]:
    """What django-axes counts failures by (AXES_LOCKOUT_PARAMETERS): username with address;
    and, once one address has failed LOGIN_ADDRESS_FAILURE_LIMIT times over any usernames,
    the address alone — which is then over django-axes' own limit, so it is refused."""
    address = _address_of(request_or_attempt)
    if address and failures_from_address(address) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return [BY_USERNAME_AND_ADDRESS, BY_ADDRESS]
    return [BY_USERNAME_AND_ADDRESS]


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing a username its column cannot hold (or with NUL)
    before any password is checked or any failed try is stored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Django sets max_length on this field after building it, so no validator checks it.
        self.fields["username"].validators.extend(
            column_text_validators(User._meta.get_field("username"))
        )
