"""Pages for operators and supervisors. Views stay short: services and selectors do the work."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
@permission_required("conferences.dial", raise_exception=True)
def dial(request: HttpRequest) -> HttpResponse:
    """The operator's main screen: dial a caller into a conference."""
    return render(request, "conferences/dial.html")


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def history(request: HttpRequest) -> HttpResponse:
    """Every call the viewer may see, newest first."""
    return render(request, "conferences/history.html")


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def conference_list(request: HttpRequest) -> HttpResponse:
    """Live and recent conferences."""
    return render(request, "conferences/conference_list.html")
