"""Each request in the viewer's own time zone (the one set on their user); pages with
personal data are never stored by a browser or a proxy."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

# URL namespaces whose every page may carry personal data (numbers, names, calls,
# recordings): the dial page, history, calls, conferences, invite lists, operations, admin.
PERSONAL_DATA_NAMESPACES = frozenset({"conferences", "admin"})


class UserTimeZoneMiddleware:
    """Show times in the signed-in user's zone; the database keeps UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone_name = getattr(request.user, "time_zone", None) if hasattr(request, "user") else None
        if zone_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone_name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class PersonalDataNoStoreMiddleware:
    """`Cache-Control: private, no-store` on every page of PERSONAL_DATA_NAMESPACES, so a
    shared computer's back button or disk cache, or a proxy, keeps none of it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and PERSONAL_DATA_NAMESPACES.intersection(match.namespaces):
            patch_cache_control(response, private=True, no_store=True)
        return response
