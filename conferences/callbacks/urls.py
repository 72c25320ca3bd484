"""Twilio's callback URLs, /webhooks/twilio/<kind>/<dial id> (see addresses.py)."""

from __future__ import annotations

from django.urls import path

from conferences.callbacks import views as webhooks

app_name = "webhooks"

urlpatterns = [
    path("twilio/<str:kind>/<int:dial_id>", webhooks.callback, name="callback"),
    # The same URL written with a trailing slash (by an operator, a proxy or a rewrite):
    # answered here rather than redirected, since Twilio does not follow redirects.
    path("twilio/<str:kind>/<int:dial_id>/", webhooks.callback, name="callback-slash"),
]
