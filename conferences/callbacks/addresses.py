"""The app's own callback URLs for a dial, and the addresses the app answers to as itself.

Those addresses are what forwarded headers may name when the receiver rebuilds the URL
Twilio signed, and what a relay may never target: a relay is signed with the account's
real token, so a relay that reached the app's own webhooks (directly, or replayed with
its relay host as X-Forwarded-Host) would be a forged callback the app accepts."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

from conferences.core import inputs

# Twilio's URL parameter -> the webhook kind in our URL (conferences/webhook_urls.py).
CALLBACK_PARAMETERS: dict[str, str] = {
    "StatusCallback": "call-status",
    "ConferenceStatusCallback": "conference",
    "RecordingStatusCallback": "recording",
    "ConferenceRecordingStatusCallback": "conference-recording",
    "AmdStatusCallback": "amd",
}
# An operator's own callback in the Create Participant body: its URL, method and events.
OPERATOR_CALLBACK_PARAMETERS = frozenset(
    f"{name}{suffix}" for name in CALLBACK_PARAMETERS for suffix in ("", "Method", "Event")
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def callback_url(kind: str, dial_id: int) -> str:
    """Absolute URL Twilio calls for one kind of callback about one dial."""
    path = reverse("webhooks:callback", kwargs={"kind": kind, "dial_id": dial_id})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def callback_urls_for(dial_id: int) -> dict[str, str]:
    return {param: callback_url(kind, dial_id) for param, kind in CALLBACK_PARAMETERS.items()}


# --- The app's own addresses ------------------------------------------------------------


def host_and_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """`Dial.Example.com.:8443` -> ("dial.example.com", 8443); IPv6 keeps its brackets.
    None when it is not a host name with an optional port."""
    host, port = split_domain_port(netloc.strip())
    port_number = inputs.whole_number(port, max_digits=5) if port else None
    if not host or (port and port_number is None):
        return None
    if port_number is None:
        port_number = DEFAULT_PORTS.get(scheme, 80)
    return host.rstrip("."), port_number


def _matchable(host: str) -> str:
    """The spelling ALLOWED_HOSTS uses: lower case, IPv6 literals in brackets."""
    host = host.strip().lower().rstrip(".")
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def answers_as_itself(host: str, port: int, scheme: str) -> bool:
    """Whether host:port is an address of the app: PUBLIC_BASE_URL's, an entry of
    WEBHOOK_FORWARDED_HOSTS, or an ALLOWED_HOSTS host (never "*") at the scheme's default
    port or PUBLIC_BASE_URL's."""
    host = _matchable(host)
    public = urlsplit(str(settings.PUBLIC_BASE_URL))
    public_port = public.port or DEFAULT_PORTS.get(public.scheme, 80)
    if host == _matchable(public.hostname or "") and port == public_port:
        return True
    for entry in settings.WEBHOOK_FORWARDED_HOSTS:
        listed = host_and_port(str(entry), scheme)
        if listed is not None and (_matchable(listed[0]), listed[1]) == (host, port):
            return True
    patterns = [str(pattern) for pattern in settings.ALLOWED_HOSTS if pattern != "*"]
    return port in (DEFAULT_PORTS.get(scheme), public_port) and validate_host(host, patterns)


def webhook_path_prefix() -> str:
    """`/webhooks/twilio/`: where every callback URL of the app starts (after any prefix)."""
    path = reverse("webhooks:callback", kwargs={"kind": "call-status", "dial_id": 1})
    return path[: path.index("call-status")]


def reaches_own_webhooks(path: str) -> bool:
    """Whether a URL path would land on the app's webhooks, however it is spelled: percent
    escapes (repeated), backslashes, doubled slashes, dot segments and case are undone."""
    normal = path
    for _ in range(5):
        decoded = unquote(normal)
        if decoded == normal:
            break
        normal = decoded
    normal = posixpath.normpath("/" + normal.replace("\\", "/")).lower()
    return webhook_path_prefix().rstrip("/").lower() + "/" in normal + "/"
