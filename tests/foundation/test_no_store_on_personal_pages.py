"""Pages with personal data are never stored by a browser or a proxy (issue 18, finding 6):
one middleware, keyed by URL namespace, so a new page of the app is covered as it lands."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from conferences.accounts.twilio_accounts import default_account
from conferences.models import Conference, DialRequest, Invitee
from tests.support.callbacks import make_dial

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def _plain_routes() -> list[str]:
    """Every route of the app's namespace that takes no argument, from the URL conf."""
    app = get_resolver().namespace_dict["conferences"][1]
    return [
        reverse(f"conferences:{pattern.name}")
        for pattern in app.url_patterns
        if isinstance(pattern, URLPattern) and pattern.name and not pattern.pattern.converters
    ]


def test_every_page_of_the_app_says_no_store(supervisor, operator):
    conference = Conference.objects.create(
        account=default_account(), friendly_name="Board", created_by=supervisor
    )
    invitee = Invitee.objects.create(conference=conference, number="+14155550100", name="Al")
    dial: DialRequest = make_dial(operator, conference=conference)
    client = Client()
    client.force_login(supervisor)
    pages = [
        *_plain_routes(),
        reverse("conferences:history-detail", args=[dial.pk]),
        reverse("conferences:conference-detail", args=[conference.pk]),
        reverse("conferences:conference-invitees", args=[conference.pk]),
        reverse("conferences:conference-roster", args=[conference.pk]),
        reverse("admin:index"),
    ]
    assert invitee.pk and len(pages) > 10
    for url in pages:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code < 500, url
            assert _no_store(response), (url, headers, response.get("Cache-Control"))
