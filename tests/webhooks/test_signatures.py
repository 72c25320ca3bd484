"""Only callbacks signed by a configured account's token, for the URL Twilio used, get in."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from conferences.callbacks.addresses import callback_url
from conferences.models import CallbackEvent
from tests.support.callbacks import make_dial, payload_for, sign
from tests.webhooks.helpers import make_account, rejections, stored

pytestmark = pytest.mark.django_db

SECOND_SID = "AC" + "5e" * 16
SECOND_TOKEN = "second-account-token-0f1e2d3c4b5a"


def test_a_forged_signature_is_refused_and_only_counted(twilio, dial):
    sent = twilio.send(
        "call-status",
        dial.pk,
        payload_for(dial, "call-status-ringing"),
        signature="bm90IGEgcmVhbCBzaWduYXR1cmU=",
    )
    assert sent.status_code == 403
    assert stored() == 0
    assert rejections("call-status", "bad-signature") == 1


def test_a_missing_signature_is_refused_and_only_counted(twilio, dial):
    sent = twilio.send("conference", dial.pk, payload_for(dial, "participant-join"), signature="")
    assert sent.status_code == 403
    assert stored() == 0
    assert rejections("conference", "missing-signature") == 1


def test_a_signature_for_another_url_is_refused(twilio, dial):
    other_dial_url = callback_url("call-status", dial.pk + 1)
    sent = twilio.send(
        "call-status",
        dial.pk,
        payload_for(dial, "call-status-completed"),
        signed_url=other_dial_url,
    )
    assert sent.status_code == 403
    assert stored() == 0
    assert rejections("call-status", "bad-signature") == 1


def test_a_signature_over_other_parameters_is_refused(twilio, dial, settings):
    params = payload_for(dial, "call-status-completed")
    url = callback_url("call-status", dial.pk)
    signature = sign(settings.TWILIO_AUTH_TOKEN, url, {**params, "CallDuration": "1"})
    sent = twilio.send("call-status", dial.pk, params, signature=signature)
    assert sent.status_code == 403


def test_counters_add_up_per_kind_and_reason(twilio, dial):
    for _ in range(3):
        twilio.send("amd", dial.pk, payload_for(dial, "amd-human"), signature="AAAA")
    twilio.send("amd", dial.pk, payload_for(dial, "amd-human"), signature="")
    assert rejections("amd", "bad-signature") == 3
    assert rejections("amd", "missing-signature") == 1
    assert rejections("call-status") == 0


def test_a_callback_from_an_account_we_do_not_have_is_refused(twilio, dial):
    params = payload_for(dial, "call-status-ringing", AccountSid="AC" + "0f" * 16)
    sent = twilio.send("call-status", dial.pk, params)
    assert sent.status_code == 403
    assert stored() == 0
    assert rejections("call-status", "unknown-account") == 1


def test_each_account_signs_with_its_own_token(twilio, operator, dial):
    second = make_account(SECOND_SID, SECOND_TOKEN)
    second_dial = make_dial(operator, account=second, label="second", call_sid="CA" + "1" * 32)
    params = payload_for(second_dial, "call-status-ringing")

    assert twilio.send("call-status", second_dial.pk, params, token=SECOND_TOKEN).status_code == 204
    # The default account's token does not sign for the second account.
    other = payload_for(second_dial, "call-status-in-progress")
    assert twilio.send("call-status", second_dial.pk, other).status_code == 403
    # And the second account's token does not sign for the default one.
    mine = payload_for(dial, "call-status-ringing")
    assert twilio.send("call-status", dial.pk, mine, token=SECOND_TOKEN).status_code == 403
    assert list(CallbackEvent.objects.values_list("dial", flat=True)) == [second_dial.pk]


def test_during_a_token_rotation_the_previous_token_still_signs(twilio, operator):
    account = make_account(SECOND_SID, "new-token-after-rotation", previous_token="old-token")
    rotated = make_dial(operator, account=account)

    old = payload_for(rotated, "call-status-ringing")
    new = payload_for(rotated, "call-status-in-progress")
    neither = payload_for(rotated, "call-status-completed")
    assert twilio.send("call-status", rotated.pk, old, token="old-token").status_code == 204
    assert (
        twilio.send("call-status", rotated.pk, new, token="new-token-after-rotation").status_code
        == 204
    )
    assert twilio.send("call-status", rotated.pk, neither, token="older-still").status_code == 403
    assert stored() == 2


def test_get_callbacks_are_signed_over_the_url_with_its_query(twilio, dial):
    params = payload_for(dial, "call-status-ringing")
    sent = twilio.send("call-status", dial.pk, params, method="GET")
    assert sent.status_code == 204
    assert CallbackEvent.objects.get().params == params


def test_a_get_callback_with_a_changed_query_is_refused(twilio, dial, settings):
    params = payload_for(dial, "call-status-ringing")
    url = callback_url("call-status", dial.pk)
    signature = sign(settings.TWILIO_AUTH_TOKEN, f"{url}?{urlencode(params)}")
    changed = {**params, "CallStatus": "completed"}
    sent = twilio.send("call-status", dial.pk, changed, method="GET", signature=signature)
    assert sent.status_code == 403
    assert stored() == 0


def test_a_post_to_a_url_with_a_query_string_is_signed_over_url_and_body(twilio, dial):
    url = callback_url("call-status", dial.pk) + "?source=dial-form&try=1"
    params = payload_for(dial, "call-status-ringing")
    sent = twilio.send("call-status", dial.pk, params, url=url)
    assert sent.status_code == 204
    # Only the body is Twilio's parameters; the query string belongs to the URL.
    assert CallbackEvent.objects.get().params == params


@pytest.mark.parametrize(
    ("public_base_url", "signed_base"),
    [
        ("https://dial.example.com", "https://dial.example.com:443"),
        ("https://dial.example.com:443", "https://dial.example.com"),
        ("http://dial.example.com", "http://dial.example.com:80"),
    ],
)
def test_twilio_may_sign_with_or_without_the_default_port(
    twilio, dial, settings, public_base_url, signed_base
):
    settings.PUBLIC_BASE_URL = public_base_url
    path = callback_url("call-status", dial.pk).removeprefix(public_base_url)
    sent = twilio.send(
        "call-status",
        dial.pk,
        payload_for(dial, "call-status-ringing"),
        url=public_base_url + path,
        signed_url=signed_base + path,
    )
    assert sent.status_code == 204


def test_a_non_default_port_must_match(twilio, dial, settings):
    settings.PUBLIC_BASE_URL = "https://dial.example.com:8443"
    path = callback_url("call-status", dial.pk).removeprefix(settings.PUBLIC_BASE_URL)
    sent = twilio.send(
        "call-status",
        dial.pk,
        payload_for(dial, "call-status-ringing"),
        url=settings.PUBLIC_BASE_URL + path,
        signed_url="https://dial.example.com:9443" + path,
    )
    assert sent.status_code == 403


def test_a_url_written_with_a_trailing_slash_is_accepted(twilio, dial):
    url = callback_url("conference", dial.pk) + "/"
    sent = twilio.send("conference", dial.pk, payload_for(dial, "participant-join"), url=url)
    assert sent.status_code == 204


def test_a_slash_added_on_the_way_does_not_break_the_signature(twilio, dial):
    signed = callback_url("conference", dial.pk)
    sent = twilio.send(
        "conference",
        dial.pk,
        payload_for(dial, "participant-join"),
        url=signed + "/",
        signed_url=signed,
    )
    assert sent.status_code == 204


class TestBehindATlsProxy:
    """Twilio signs https://public-host/…; the app sees http://internal-host/…."""

    PUBLIC = "https://dial.example.com"

    @pytest.fixture(autouse=True)
    def internal_base_url(self, settings):
        settings.PUBLIC_BASE_URL = "http://10.0.0.5:8000"
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "dial.example.com"]

    def send_through_proxy(self, twilio, dial, headers, public=PUBLIC):
        path = callback_url("call-status", dial.pk).removeprefix("http://10.0.0.5:8000")
        return twilio.send(
            "call-status",
            dial.pk,
            payload_for(dial, "call-status-ringing"),
            url="http://10.0.0.5:8000" + path,
            signed_url=public + path,
            headers=headers,
        )

    def test_with_the_setting_on_the_forwarded_scheme_and_host_are_trusted(
        self, twilio, dial, settings
    ):
        settings.WEBHOOK_TRUST_FORWARDED_HEADERS = True
        headers = {"X-Forwarded-Proto": "https", "Host": "dial.example.com"}
        assert self.send_through_proxy(twilio, dial, headers).status_code == 204

    def test_with_the_setting_on_x_forwarded_host_and_port_are_used(self, twilio, dial, settings):
        settings.WEBHOOK_TRUST_FORWARDED_HEADERS = True
        settings.WEBHOOK_FORWARDED_HOSTS = ["dial.example.com:8443"]  # not a default port
        headers = {
            "X-Forwarded-Proto": "https, http",
            "X-Forwarded-Host": "dial.example.com",
            "X-Forwarded-Port": "8443",
        }
        sent = self.send_through_proxy(
            twilio, dial, headers, public="https://dial.example.com:8443"
        )
        assert sent.status_code == 204

    @pytest.mark.parametrize("port", ["²", "7" * 4301, "99999999", "-1"])
    def test_a_forwarded_port_that_is_no_port_is_left_out_not_a_500(
        self, twilio, dial, settings, port
    ):
        """isdigit() took "²" and int() refused it: one header from the proxy's client was
        a 500 on every callback. A port that is no port is ignored, as if not sent."""
        settings.WEBHOOK_TRUST_FORWARDED_HEADERS = True
        settings.WEBHOOK_FORWARDED_HOSTS = ["dial.example.com"]
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "dial.example.com",
            "X-Forwarded-Port": port,
        }
        sent = self.send_through_proxy(twilio, dial, headers, public="https://dial.example.com")
        assert sent.status_code == 204

    def test_with_the_setting_off_forwarded_headers_are_ignored(self, twilio, dial, settings):
        settings.WEBHOOK_TRUST_FORWARDED_HEADERS = False
        headers = {"X-Forwarded-Proto": "https", "Host": "dial.example.com"}
        assert self.send_through_proxy(twilio, dial, headers).status_code == 403
        assert rejections("call-status", "bad-signature") == 1

    def test_with_the_setting_off_the_public_base_url_is_what_counts(self, twilio, dial, settings):
        settings.WEBHOOK_TRUST_FORWARDED_HEADERS = False
        settings.PUBLIC_BASE_URL = self.PUBLIC
        path = callback_url("call-status", dial.pk).removeprefix(self.PUBLIC)
        sent = twilio.send(
            "call-status",
            dial.pk,
            payload_for(dial, "call-status-ringing"),
            url="http://10.0.0.5:8000" + path,
            signed_url=self.PUBLIC + path,
        )
        assert sent.status_code == 204
