"""The self-test: a signed callback from the server to itself through PUBLIC_BASE_URL."""

from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from conferences.audit.trail import AuditAction
from conferences.models import AuditEntry
from conferences.operations import self_test
from tests.ops.helpers import ReverseProxy, serving
from tests.support.network import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def public_url(settings, live_server, redis_db):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.WEBHOOK_TRUST_FORWARDED_HEADERS = False
    return live_server.url


def test_the_self_test_passes_when_public_base_url_is_the_server_itself(public_url, supervisor):
    result = self_test.run_self_test(actor=supervisor)
    assert result.ok, result.summary
    assert result.url.startswith(f"{public_url}/webhooks/twilio/self-test/st-")
    assert result.http_status == 204
    assert "verified" in result.summary
    entry = AuditEntry.objects.get(action=AuditAction.WEBHOOK_SELF_TEST)
    assert (entry.actor, entry.outcome) == (supervisor, "ok")


def test_https_in_public_base_url_while_the_server_speaks_http_is_named_as_the_scheme(
    public_url, settings, supervisor
):
    settings.PUBLIC_BASE_URL = public_url.replace("http://", "https://")
    result = self_test.run_self_test(actor=supervisor)
    assert not result.ok
    assert result.cause == self_test.Cause.SCHEME
    assert "speaks plain http" in result.summary
    assert AuditEntry.objects.get(action=AuditAction.WEBHOOK_SELF_TEST).outcome == "failed"


def test_a_port_nobody_listens_on_is_named_as_the_port(public_url, settings, supervisor):
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{free_port()}"
    result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause) == (False, self_test.Cause.PORT)
    assert "connection refused" in result.summary


def test_a_path_prefix_the_server_does_not_have_is_named_as_the_path(
    public_url, settings, supervisor
):
    settings.PUBLIC_BASE_URL = f"{public_url}/dialin"
    result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause, result.http_status) == (False, self_test.Cause.PATH, 404)
    assert "/dialin" in result.summary


def test_a_host_name_that_does_not_resolve_is_named_as_dns(public_url, settings, supervisor):
    settings.PUBLIC_BASE_URL = "http://dialin.example.invalid"
    result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause) == (False, self_test.Cause.DNS)


def test_a_host_the_app_refuses_is_named_as_the_host(public_url, settings, supervisor):
    settings.ALLOWED_HOSTS = ["testserver", "dialin.example.com"]
    result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause, result.http_status) == (False, self_test.Cause.HOST, 400)
    assert "ALLOWED_HOSTS" in result.summary


def test_a_proxy_that_strips_its_path_prefix_passes(public_url, settings, supervisor):
    proxy = ReverseProxy(upstream=public_url, strip_prefix="/dialin")
    with serving(proxy.handle) as proxy_url:
        settings.PUBLIC_BASE_URL = f"{proxy_url}/dialin"
        result = self_test.run_self_test(actor=supervisor)
    assert result.ok, result.summary


def test_a_tls_proxy_header_that_does_not_match_public_base_url_is_named_as_the_scheme(
    public_url, settings, supervisor
):
    # A TLS terminator says X-Forwarded-Proto: https, the app trusts it, but
    # PUBLIC_BASE_URL (what Twilio signs) says http: the signature cannot verify.
    settings.WEBHOOK_TRUST_FORWARDED_HEADERS = True
    proxy = ReverseProxy(upstream=public_url, extra_headers={"X-Forwarded-Proto": "https"})
    with serving(proxy.handle) as proxy_url:
        settings.PUBLIC_BASE_URL = proxy_url
        result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause, result.http_status) == (False, self_test.Cause.SCHEME, 403)
    assert "signature" in result.summary
    assert "scheme (http signed, https checked)" in result.summary


def test_a_proxy_that_redirects_to_https_is_named_as_the_scheme(public_url, settings, supervisor):
    proxy = ReverseProxy(upstream=public_url, redirect_to_https=True)
    with serving(proxy.handle) as proxy_url:
        settings.PUBLIC_BASE_URL = proxy_url
        result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause, result.http_status) == (False, self_test.Cause.SCHEME, 301)
    assert "does not follow redirects" in result.summary


def test_another_server_answering_at_the_address_is_named(public_url, settings, supervisor):
    def answers_ok(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with serving(answers_ok) as other:
        settings.PUBLIC_BASE_URL = other
        result = self_test.run_self_test(actor=supervisor)
    assert (result.ok, result.cause) == (False, self_test.Cause.OTHER_SERVER)


def test_the_endpoint_refuses_a_callback_no_self_test_is_waiting_for(public_url):
    url = f"{public_url}{reverse('conferences:webhook-self-test', args=['st-unknown'])}"
    response = requests.post(url, data={"AccountSid": "AC" + "0" * 32}, timeout=5)
    assert response.status_code == 404


def test_supervisors_run_it_from_the_page_with_and_without_htmx(public_url, client, supervisor):
    client.force_login(supervisor)
    url = reverse("conferences:webhook-self-test-run")
    page = client.post(url)
    assert page.status_code == 200
    assert b"<h1>Webhook health</h1>" in page.content
    assert b"Passed." in page.content
    fragment = client.post(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b"<h1>" not in fragment.content
    assert b"Passed." in fragment.content
    assert "HX-Request" in fragment["Vary"]


def test_operators_cannot_run_it(public_url, client, operator):
    client.force_login(operator)
    assert client.post(reverse("conferences:webhook-self-test-run")).status_code == 403
    assert not AuditEntry.objects.exists()
