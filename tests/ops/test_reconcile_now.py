"""The "reconcile now" button: who may press it, what it answers, what it records."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from conferences.audit.trail import AuditAction
from conferences.models import AuditEntry, CallbackEvent, DialStatus
from tests.support.callbacks import make_dial

pytestmark = pytest.mark.django_db

UNKNOWN_CALL = "CA" + "f" * 32


@pytest.fixture
def api(settings, sandbox):
    settings.TWILIO_API_BASE_URL = sandbox.url
    return sandbox


@pytest.fixture
def ringing_dial(operator):
    dial = make_dial(operator, call_sid=UNKNOWN_CALL)
    type(dial).objects.filter(pk=dial.pk).update(status=DialStatus.RINGING)
    return dial


def test_operators_may_not_reconcile(client, operator, ringing_dial):
    client.force_login(operator)
    response = client.post(reverse("conferences:reconcile", args=["dial", ringing_dial.pk]))
    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def test_reconciling_answers_404_for_an_unknown_target_or_record(client, supervisor):
    client.force_login(supervisor)
    assert client.post(reverse("conferences:reconcile", args=["call", 1])).status_code == 404
    assert client.post(reverse("conferences:reconcile", args=["dial", 99999])).status_code == 404
    assert client.get(reverse("conferences:reconcile", args=["dial", 1])).status_code == 405


def test_with_htmx_the_outcome_appears_beside_the_button_and_is_audited(
    client, supervisor, ringing_dial, api
):
    client.force_login(supervisor)
    response = client.post(
        reverse("conferences:reconcile", args=["dial", ringing_dial.pk]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "dial-reconciled"
    assert "HX-Request" in response["Vary"]
    assert b"<form" not in response.content  # only the outcome, swapped into the form
    assert f"Twilio does not know call {UNKNOWN_CALL}".encode() in response.content
    entry = AuditEntry.objects.get(action=AuditAction.RECONCILE)
    assert (entry.actor, entry.dial, entry.outcome) == (supervisor, ringing_dial, "failed")
    assert entry.detail["trigger"] == "on request"
    assert not CallbackEvent.objects.exists()  # nothing learned, nothing written


def test_without_javascript_it_comes_back_to_the_page_with_a_message(
    client, supervisor, ringing_dial, api
):
    client.force_login(supervisor)
    url = reverse("conferences:reconcile", args=["dial", ringing_dial.pk])
    response = client.post(url, {"next": "/history/?q=1"}, follow=True)
    assert response.redirect_chain[0] == ("/history/?q=1", 302)
    assert b"Could not reconcile" in response.content
    # An outside address is never followed.
    response = client.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("conferences:history")
    # Nor is something that is no path at all (redirect() would take it for a view's name).
    for not_a_path in ("9999-12-31T00:00", "conferences:audit-trail", "history"):
        response = client.post(url, {"next": not_a_path})
        assert response["Location"] == reverse("conferences:history"), not_a_path


def test_twilio_unreachable_is_reported_not_raised(client, supervisor, ringing_dial, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # discard port: refused
    settings.TWILIO_HTTP_TIMEOUT_SECONDS = 2
    client.force_login(supervisor)
    response = client.post(
        reverse("conferences:reconcile", args=["dial", ringing_dial.pk]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"Twilio did not answer" in response.content
    assert AuditEntry.objects.get().outcome == "failed"


@pytest.mark.parametrize("target", ["dial", "conference"])
def test_the_button_include_shows_only_to_people_allowed_to_reconcile(
    target, supervisor, operator, ringing_dial
):
    pk = ringing_dial.pk if target == "dial" else ringing_dial.conference_id
    request = RequestFactory().get("/history/7")
    for user, shown in ((supervisor, True), (operator, False)):
        request.user = user
        html = render_to_string(
            "conferences/ops/_reconcile_button.html",
            {"target": target, "pk": pk},
            request=request,
        )
        assert ("Reconcile now" in html) is shown
        if shown:
            assert f'action="{reverse("conferences:reconcile", args=[target, pk])}"' in html
            assert 'name="next" value="/history/7"' in html
            assert 'role="status"' in html
