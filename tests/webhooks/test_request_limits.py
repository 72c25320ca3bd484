"""What the webhook URLs refuse (and what they never ask for: a login or a CSRF token)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from conferences.callbacks import views as webhooks
from conferences.callbacks.addresses import callback_url
from conferences.operations import views as ops_views
from tests.support.callbacks import TwilioSender, payload_for
from tests.webhooks.helpers import rejections, stored

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "name", "missing"),
    [
        ("call-status", "call-status-ringing", "CallSid"),
        ("call-status", "call-status-ringing", "CallStatus"),
        ("conference", "participant-join", "ConferenceSid"),
        ("conference", "conference-start", "StatusCallbackEvent"),
        ("recording", "recording-completed", "RecordingSid"),
        ("conference-recording", "conference-recording-completed", "RecordingSid"),
        ("amd", "amd-human", "CallSid"),
    ],
)
def test_a_signed_callback_missing_what_its_kind_needs_is_a_bad_request(
    twilio, dial, kind, name, missing
):
    params = payload_for(dial, name)
    del params[missing]
    sent = twilio.send(kind, dial.pk, params)
    assert sent.status_code == 400
    assert stored() == 0
    assert rejections(kind, "malformed") == 1


def test_a_callback_without_an_account_sid_is_a_bad_request(twilio, dial):
    params = payload_for(dial, "call-status-ringing")
    del params["AccountSid"]
    assert twilio.send("call-status", dial.pk, params).status_code == 400
    assert rejections("call-status", "malformed") == 1


def test_a_garbled_sid_is_a_bad_request(twilio, dial):
    params = payload_for(dial, "call-status-ringing", CallSid="CA" + "x" * 40)
    assert twilio.send("call-status", dial.pk, params).status_code == 400
    assert stored() == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read(twilio, dial, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    params = payload_for(dial, "call-status-ringing", Padding="x" * 3000)
    sent = twilio.send("call-status", dial.pk, params)
    assert sent.status_code == 413
    assert stored() == 0
    assert rejections("call-status", "too-large") == 1


def test_a_query_string_over_the_limit_is_refused(twilio, dial, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    params = payload_for(dial, "call-status-ringing", Padding="x" * 3000)
    assert twilio.send("call-status", dial.pk, params, method="GET").status_code == 413


def test_a_body_under_the_limit_is_accepted(twilio, dial, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    assert twilio.fixture(dial, "call-status-ringing").status_code == 204


def test_an_unknown_kind_is_not_found(twilio, dial):
    url = callback_url("call-status", dial.pk).replace("call-status", "sms-status")
    sent = twilio.send("call-status", dial.pk, payload_for(dial, "call-status-ringing"), url=url)
    assert sent.status_code == 404
    assert stored() == 0


def test_other_methods_are_not_allowed(client, dial):
    path = callback_url("call-status", dial.pk).split("://", 1)[1].partition("/")[2]
    assert client.put(f"/{path}").status_code == 405
    assert client.delete(f"/{path}").status_code == 405


def test_webhooks_need_no_login_and_no_csrf_token(dial):
    strict = TwilioSender(Client(enforce_csrf_checks=True))
    assert strict.fixture(dial, "call-status-ringing").status_code == 204


def test_other_posts_still_need_a_csrf_token(operator):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "olivia", "password": "x"})
    assert response.status_code == 403


def _views(patterns: list[URLPattern | URLResolver]) -> list[object]:
    found: list[object] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found.extend(_views(pattern.url_patterns))
        else:
            found.append(pattern.callback)
    return found


def test_the_webhook_view_is_the_only_csrf_exempt_view():
    resolver = get_resolver()
    exempt = {view for view in _views(resolver.url_patterns) if getattr(view, "csrf_exempt", False)}
    # The JSON API (issue 22) authenticates each request by its bearer token, never by a
    # cookie, so there is no session for a forged request to ride on.
    api = next(
        entry
        for entry in resolver.url_patterns
        if isinstance(entry, URLResolver) and entry.namespace == "api-v1"
    )
    api_views = set(_views(api.url_patterns))
    assert api_views
    # The webhook self-test's endpoint (issue 12) is signed and verified like the callbacks.
    assert exempt - api_views == {webhooks.callback, ops_views.webhook_self_test}
