"""htmx on every page the same way: when a request gets a fragment, and how it is rendered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_fragment(request: HttpRequest) -> bool:
    """Whether htmx asked for a part of the page. htmx restoring its history (a reload of
    an address it pushed) sends HX-Request too, but needs the whole page."""
    details: HtmxDetails | None = getattr(request, "htmx", None)
    return details is not None and bool(details) and not details.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """The same address answers a page or a fragment: caches must keep them apart."""
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_page(
    request: HttpRequest,
    page: str,
    context: Mapping[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page, or only its `fragment` partial when htmx asked for a part of it."""
    template = f"{page}#{fragment}" if fragment and wants_fragment(request) else page
    return vary_on_htmx(render(request, template, context, status=status))
