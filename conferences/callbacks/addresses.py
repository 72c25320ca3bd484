"""The app's own callback URLs for a dial: Twilio must report every event back to us."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

# Twilio's URL parameter -> the webhook kind in our URL (conferences/webhook_urls.py).
CALLBACK_PARAMETERS: dict[str, str] = {
    "StatusCallback": "call-status",
    "ConferenceStatusCallback": "conference",
    "RecordingStatusCallback": "recording",
    "ConferenceRecordingStatusCallback": "conference-recording",
    "AmdStatusCallback": "amd",
}


def callback_url(kind: str, dial_id: int) -> str:
    """Absolute URL Twilio calls for one kind of callback about one dial."""
    path = reverse("webhooks:callback", kwargs={"kind": kind, "dial_id": dial_id})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def callback_urls_for(dial_id: int) -> dict[str, str]:
    return {param: callback_url(kind, dial_id) for param, kind in CALLBACK_PARAMETERS.items()}
