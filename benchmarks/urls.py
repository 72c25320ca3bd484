from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt

from dashboard.urls import urlpatterns as app_urlpatterns


@csrf_exempt
@login_not_required
def bare(request: HttpRequest) -> HttpResponse:
    """The baseline: a Django view that does nothing but answer."""
    return HttpResponse("ok")


urlpatterns: list[URLPattern | URLResolver] = [path("bench/ok", bare), *app_urlpatterns]
