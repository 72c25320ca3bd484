"""An event's page left open while it counts down becomes the live console by itself: when
its dial-out begins, the countdown's poll asks htmx for the whole page again (the roster by
role appears, the edit and cancel forms go), instead of swapping in a countdown alone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conferences.events import dial_out
from tests.events.helpers import planned
from tests.live.helpers import client_for

pytestmark = pytest.mark.django_db


def test_the_countdown_poll_reloads_the_page_once_the_dial_out_has_begun(supervisor):
    client = client_for(supervisor)
    event = planned(supervisor, "board call")
    url = reverse("conferences:event-detail", args=[event.pk])
    page = client.get(url).content.decode()
    assert f'hx-get="{url}?shown=scheduled"' in page and 'id="console"' not in page

    waiting = client.get(url, {"shown": "scheduled"}, HTTP_HX_REQUEST="true")
    assert waiting.status_code == 200 and "HX-Refresh" not in waiting
    assert waiting.content.decode().lstrip().startswith('<section id="countdown"')

    assert dial_out.claim_event(event.pk, event.dial_at)  # the dial-out begins
    begun = client.get(url, {"shown": "scheduled"}, HTTP_HX_REQUEST="true")
    assert begun.status_code == 200 and begun["HX-Refresh"] == "true"
    assert 'id="console"' in client.get(url).content.decode()
    # A page rendered after the start keeps polling its countdown without reloading.
    dialing = client.get(url, {"shown": "dialing"}, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in dialing
    assert dialing.content.decode().lstrip().startswith('<section id="countdown"')
