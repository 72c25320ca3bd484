"""A relay cannot forge a callback (issue 18, finding 3). Relays are signed with the
account's real auth token over a URL the operator chose: replayed against the app's own
webhooks (with the relay host as X-Forwarded-Host), or aimed at them directly (an
allow-listed own host, a path spelled differently, a name resolving to the app), they
must be refused."""

from __future__ import annotations

import pytest

from conferences.callbacks import relay
from conferences.callbacks import tasks as callback_tasks
from conferences.callbacks.addresses import callback_url
from conferences.models import CallbackEvent, RelayAllowedHost, RelayDelivery, RelayDeliveryStatus
from tests.support.callbacks import make_dial, payload_for
from tests.support.network import free_port
from tests.webhooks.helpers import rejections

pytestmark = pytest.mark.django_db

PUBLIC = "https://dial.example.com"
ATTACKER = "hooks.attacker.example"


@pytest.fixture
def behind_a_proxy(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "dial.example.com"]
    settings.WEBHOOK_TRUST_FORWARDED_HEADERS = True


def relay_now(delivery: RelayDelivery) -> RelayDelivery:
    callback_tasks.relay_callback.apply(args=(delivery.pk,))
    delivery.refresh_from_db()
    return delivery


def replay(twilio, dial, *, forwarded_host: str, signed_base: str, port: str = ""):
    """What an operator who received a relay at `signed_base` sends the app: the body and
    the signature it got, with its own host as the forwarded one."""
    path = callback_url("call-status", dial.pk).removeprefix(PUBLIC)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": forwarded_host}
    if port:
        headers["X-Forwarded-Port"] = port
    return twilio.send(
        "call-status",
        dial.pk,
        payload_for(dial, "call-status-ringing"),
        url="http://10.0.0.5:8000" + path,
        signed_url=signed_base + path,
        headers=headers,
    )


def test_a_relay_replayed_with_its_relay_host_as_x_forwarded_host_is_refused(
    twilio, operator, behind_a_proxy
):
    victim = make_dial(operator)
    sent = replay(twilio, victim, forwarded_host=ATTACKER, signed_base=f"https://{ATTACKER}")
    assert sent.status_code == 403
    assert not CallbackEvent.objects.filter(dial=victim).exists()
    assert rejections("call-status", "bad-signature") == 1


def test_a_forwarded_port_the_app_does_not_answer_on_is_not_believed(
    twilio, operator, behind_a_proxy, settings
):
    victim = make_dial(operator)
    signed_base = "https://dial.example.com:8443"
    sent = replay(
        twilio, victim, forwarded_host="dial.example.com", signed_base=signed_base, port="8443"
    )
    assert sent.status_code == 403
    settings.WEBHOOK_FORWARDED_HOSTS = ["dial.example.com:8443"]  # configured: believed
    sent = replay(
        twilio, victim, forwarded_host="dial.example.com", signed_base=signed_base, port="8443"
    )
    assert sent.status_code == 204


def test_the_apps_own_forwarded_host_is_still_believed(twilio, operator, behind_a_proxy):
    victim = make_dial(operator)
    sent = replay(twilio, victim, forwarded_host="dial.example.com", signed_base=PUBLIC)
    assert sent.status_code == 204


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/twilio/call-status/5",
        "/WebHooks/Twilio/amd/5/",
        "/dialin/webhooks/twilio/conference/5",  # behind a path prefix
        "//webhooks//twilio/recording/5",
        "/a/../webhooks/twilio/call-status/5",
        "/webhooks%2Ftwilio/call-status/5",
        "/webhooks%252Ftwilio%252Fcall-status/5",
        "/webhooks\\twilio\\call-status/5",
    ],
)
def test_a_relay_target_on_the_apps_webhook_path_is_refused_on_any_host(path):
    RelayAllowedHost.objects.create(host="hooks.example.com")
    reason = relay.check_target_url(f"https://hooks.example.com{path}")
    assert reason is not None and "own webhooks" in reason


def test_the_apps_own_host_is_refused_even_when_allow_listed(settings, behind_a_proxy):
    RelayAllowedHost.objects.create(host="dial.example.com")
    reason = relay.check_target_url("https://Dial.Example.com./status")
    assert reason is not None and "own address" in reason
    # Another port of the same name is someone else's service (e.g. a callback receiver).
    RelayAllowedHost.objects.create(host="dial.example.com", port=9443)
    assert relay.check_target_url("https://dial.example.com:9443/status") is None


def test_a_relay_aimed_at_the_apps_own_callback_url_is_refused_and_stores_nothing(
    twilio, operator, settings
):
    settings.RELAY_ALLOW_PRIVATE_ADDRESSES = True
    victim = make_dial(operator, call_sid="CA" + "1" * 32, label="victim")
    own = callback_url("call-status", victim.pk)
    RelayAllowedHost.objects.create(host="127.0.0.1", port=8000)
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    attacker = make_dial(operator, relay_targets={"call-status": {"url": own, "method": "POST"}})
    twilio.send("call-status", attacker.pk, payload_for(attacker, "call-status-completed"))
    delivery = relay_now(RelayDelivery.objects.get())
    assert delivery.status == RelayDeliveryStatus.REFUSED
    assert "own" in delivery.last_error
    assert not CallbackEvent.objects.filter(dial=victim).exists()


def test_a_name_resolving_to_the_apps_own_address_and_port_is_refused(twilio, operator, settings):
    """localhost is not the app's name, but it resolves to the address and port the app
    answers on: refused before any connection is tried."""
    port = free_port()
    settings.RELAY_ALLOW_PRIVATE_ADDRESSES = True
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{port}"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    RelayAllowedHost.objects.create(host="localhost", port=port)
    target = {"url": f"http://localhost:{port}/hook", "method": "POST"}
    dial = make_dial(operator, relay_targets={"call-status": target})
    twilio.send("call-status", dial.pk, payload_for(dial, "call-status-completed"))
    delivery = relay_now(RelayDelivery.objects.get())
    assert delivery.status == RelayDeliveryStatus.REFUSED
    assert "this app's own address" in delivery.last_error


def test_the_dial_form_says_why_it_will_not_relay_to_the_apps_own_webhooks(
    client, operator, settings
):
    RelayAllowedHost.objects.create(host="hooks.example.com")
    client.force_login(operator)
    answer = client.post(
        "/dial/",
        {
            "conference": "Replay",
            "to": "+15005550006",
            "from": "+15005550006",
            "status_callback": "https://hooks.example.com/webhooks/twilio/call-status/1",
            "action": "dial",
        },
    )
    assert answer.status_code in (200, 422)
    assert "this app&#x27;s own webhooks" in answer.content.decode()
