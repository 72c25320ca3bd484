from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt

from conferences.callbacks.store import store_callback
from conferences.callbacks.views import callback_params
from dashboard.urls import urlpatterns as app_urlpatterns


@csrf_exempt
@login_not_required
def bare(request: HttpRequest) -> HttpResponse:
    """The baseline: a Django view that does nothing but answer."""
    return HttpResponse("ok")


@csrf_exempt
@login_not_required
def bare_store(request: HttpRequest, kind: str, dial_id: int) -> HttpResponse:
    """The durable baseline: the receiver's own INSERT … ON CONFLICT, with no signature
    check (and, served with `bare_settings`, no middleware)."""
    store_callback(kind, callback_params(request), dial_id_in_url=dial_id)
    return HttpResponse(status=204)


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/ok", bare),
    path("bench/store/<str:kind>/<int:dial_id>", bare_store),
    *app_urlpatterns,
]
