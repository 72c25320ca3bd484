"""Webhook requests Django refuses before the view runs still count on webhook health.

CommonMiddleware answers a Host outside ALLOWED_HOSTS with 400 before any view: a proxy
sending its internal host name would make every callback vanish unseen. This middleware,
placed before it, counts such a request under its kind and lets Django answer as always.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from conferences.callbacks import meaning as callback_meaning
from conferences.callbacks.addresses import webhook_path_prefix
from conferences.callbacks.views import count_rejection
from conferences.models import WebhookRejectionReason


def webhook_kind(request: HttpRequest) -> str | None:
    """The webhook kind a request's path names, if it is one of the app's webhooks."""
    if not request.path_info.startswith(webhook_path_prefix()):
        return None
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    kind = match.kwargs.get("kind")
    if match.namespace != "webhooks" or kind not in callback_meaning.WEBHOOK_KINDS:
        return None
    return str(kind)


class WebhookRefusalsMiddleware:
    """Count a webhook request whose Host Django will refuse (the answer stays Django's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kind = webhook_kind(request)
        if kind is not None:
            try:
                request.get_host()
            except DisallowedHost:
                count_rejection(kind, WebhookRejectionReason.BAD_HOST)
        return self.get_response(request)
