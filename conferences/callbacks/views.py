"""Twilio status callbacks: verify, store, answer.

The receiver does the least that is safe: check the signature, store the raw event in one
statement (`store.store_callback`), answer 204; no Redis, no broker. Applying,
relaying and tallies happen in the `callbacks` process (`manage.py apply_callbacks`, which
finds new events through the partial index of unapplied ones within milliseconds), with a
beat task as a backstop, so an event stored is an event applied. A refused request leaves
a counter row (per kind, hour and reason) and a log line: never its body, never a token.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from conferences.accounts import twilio_accounts
from conferences.callbacks import addresses as own_addresses
from conferences.callbacks import meaning as callback_meaning
from conferences.callbacks import reading, store, tally
from conferences.callbacks.addresses import DEFAULT_PORTS
from conferences.core import inputs
from conferences.core.counters import count_in_hour
from conferences.gateway.signatures import validate_signature
from conferences.models import WebhookRejection, WebhookRejectionReason

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
_STATUS_FOR_REASON = {
    WebhookRejectionReason.MISSING_SIGNATURE: 403,
    WebhookRejectionReason.UNKNOWN_ACCOUNT: 403,
    WebhookRejectionReason.BAD_SIGNATURE: 403,
    WebhookRejectionReason.MALFORMED: 400,
    WebhookRejectionReason.TOO_LARGE: 413,
    WebhookRejectionReason.TOO_MANY_FIELDS: 400,
}


@csrf_exempt  # Twilio cannot send a CSRF token; the signature stands in for it
@login_not_required
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, kind: str, dial_id: int) -> HttpResponse:
    """One Twilio status callback about one dial: 204 once it is stored."""
    if kind not in callback_meaning.WEBHOOK_KINDS:
        raise Http404("No such callback kind")
    if _too_large(request):
        return _refuse(request, kind, dial_id, WebhookRejectionReason.TOO_LARGE)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return _refuse(request, kind, dial_id, WebhookRejectionReason.MISSING_SIGNATURE)
    try:
        params = callback_params(request)
    except TooManyFieldsSent:
        return _refuse(request, kind, dial_id, WebhookRejectionReason.TOO_MANY_FIELDS)
    except RequestDataTooBig:  # a body that declared no length, read past Django's limit
        return _refuse(request, kind, dial_id, WebhookRejectionReason.TOO_LARGE)
    account_sid = reading.param_value(params, "AccountSid")
    if not account_sid:
        return _refuse(request, kind, dial_id, WebhookRejectionReason.MALFORMED)
    problem = signature_problem(request, account_sid, signature)
    if problem is not None:
        return _refuse(request, kind, dial_id, problem, account_sid=account_sid)
    try:
        stored = store.store_callback(kind, params, dial_id_in_url=dial_id)
    except reading.MalformedCallback as error:
        return _refuse(request, kind, dial_id, WebhookRejectionReason.MALFORMED, detail=str(error))
    if not stored.created:
        tally.count_duplicate(kind)  # issue 12: webhook health
    elif not stored.reading.known:
        logger.warning(
            "Stored a %s callback with a value this app does not know yet: %r",
            kind,
            stored.reading.event[:64],
        )
    return HttpResponse(status=204)


def _too_large(request: HttpRequest) -> bool:
    limit = int(settings.WEBHOOK_MAX_BODY_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Checked before the body is read, so a huge body is never pulled into memory.
    return declared > limit or len(request.META.get("QUERY_STRING", "")) > limit


def callback_params(request: HttpRequest) -> dict[str, list[str]]:
    """Twilio's parameters: the query string for GET callbacks, the form body for POST."""
    source = request.GET if request.method == "GET" else request.POST
    return {name: list(values) for name, values in source.lists()}


def signed_params(request: HttpRequest) -> dict[str, list[str]]:
    """What the signature covers besides the URL: nothing for GET (it is all in the URL)."""
    return {} if request.method == "GET" else callback_params(request)


def public_urls(request: HttpRequest) -> list[str]:
    """The URL Twilio used, as it may have been written: with and without a trailing slash.

    The base comes from PUBLIC_BASE_URL, or with WEBHOOK_TRUST_FORWARDED_HEADERS from the
    proxy's X-Forwarded-Proto/-Host/-Port (the path prefix still from PUBLIC_BASE_URL).
    RequestValidator itself tries each with and without the scheme's default port.
    """
    base = str(settings.PUBLIC_BASE_URL).rstrip("/")
    if settings.WEBHOOK_TRUST_FORWARDED_HEADERS:
        base = _forwarded_base(request, base)
    path = escape_uri_path(request.path)
    query = request.META.get("QUERY_STRING", "")
    suffix = f"?{query}" if query else ""
    other_path = path.removesuffix("/") if path.endswith("/") else f"{path}/"
    return [f"{base}{path}{suffix}", f"{base}{other_path}{suffix}"]


def _first_header_value(request: HttpRequest, name: str) -> str:
    # Proxies append to these headers: the first value is the one the client saw.
    return request.headers.get(name, "").split(",")[0].strip()


def _forwarded_base(request: HttpRequest, configured_base: str) -> str:
    """The base the proxy says the request came to. Its host only if it is an address of
    the app (`answers_as_itself`), else PUBLIC_BASE_URL's: a relayed request replayed with
    its relay host in X-Forwarded-Host must not verify."""
    scheme = _first_header_value(request, "X-Forwarded-Proto").lower()
    if scheme not in DEFAULT_PORTS:
        scheme = request.scheme or "http"
    host = _first_header_value(request, "X-Forwarded-Host") or request.META.get("HTTP_HOST", "")
    port = _first_header_value(request, "X-Forwarded-Port")
    has_port = ":" in host.rsplit("]", 1)[-1]  # "[::1]" is an IPv6 host without a port
    port_number = inputs.whole_number(port, max_digits=5)
    if port_number is not None and port_number != DEFAULT_PORTS[scheme] and not has_port:
        host = f"{host}:{port}"
    configured = urlsplit(configured_base)
    found = own_addresses.host_and_port(host, scheme)
    if found is None or not own_addresses.answers_as_itself(*found, scheme):
        logger.warning(
            "Ignored the forwarded address %r: not in ALLOWED_HOSTS or WEBHOOK_FORWARDED_HOSTS",
            host[:100],
        )
        host = configured.netloc
    return f"{scheme}://{host}{configured.path.rstrip('/')}"


def signature_problem(
    request: HttpRequest, account_sid: str, signature: str
) -> WebhookRejectionReason | None:
    """None when a token of the callback's account (current or previous) signed this URL."""
    tokens = twilio_accounts.signing_tokens(account_sid)
    if not tokens:
        return WebhookRejectionReason.UNKNOWN_ACCOUNT
    params = signed_params(request)
    for url in public_urls(request):
        for token in tokens:
            if validate_signature(token, url, params, signature):
                return None
    return WebhookRejectionReason.BAD_SIGNATURE


def _refuse(
    request: HttpRequest,
    kind: str,
    dial_id: int,
    reason: WebhookRejectionReason,
    *,
    account_sid: str = "",
    detail: str = "",
) -> HttpResponse:
    count_rejection(kind, reason)
    # Never the body or a token; the AccountSid is the sender's claim, so shown quoted.
    logger.warning(
        "Refused a %s callback for dial %s from %s: %s%s%s",
        kind,
        dial_id,
        request.META.get("REMOTE_ADDR", "?"),
        reason.value,
        f" (AccountSid {account_sid[:40]!r})" if account_sid else "",
        f" ({detail[:200]})" if detail else "",
    )
    return HttpResponse(status=_STATUS_FOR_REASON[reason])


def count_rejection(
    kind: str, reason: WebhookRejectionReason, *, at: datetime | None = None
) -> None:
    """Add one to this hour's counter for the kind and reason."""
    count_in_hour(WebhookRejection, at=at, kind=kind, reason=reason)
