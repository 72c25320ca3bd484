"""The dial page: full page and htmx fragments, validation in place, queueing, presets."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.urls import reverse

from conferences.core.redis_connection import redis_client
from conferences.models import AuditEntry, DialPreset, DialRequest, DialStatus
from conferences.schema import load_participant_schema
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
GOOD = {
    "conference": "Morning standup",
    "to": "+15005550006",
    "from": "+15005550006",
    "action": "dial",
}


@pytest.fixture
def signed_in(client, operator):
    client.force_login(operator)
    return client


def test_the_full_page_has_a_field_for_every_parameter(signed_in):
    html = signed_in.get(reverse("conferences:dial")).content.decode()
    for spec in load_participant_schema():
        assert f'name="{spec.field_name}"' in html, spec.name
    assert '<fieldset class="group collapsed" id="group-recording">' in html
    # Without JavaScript the collapsed groups' fields are still there to fill in.
    assert "<noscript>" in html


def test_expanding_a_group_returns_only_that_group_with_typed_values_kept(signed_in):
    url = reverse("conferences:dial-group", args=["call"])
    response = signed_in.post(url, {"open": "1", "timeout": "25", "to": "+15005550006"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<fieldset class="group" id="group-call">')
    assert 'name="timeout"' in html and 'value="25"' in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_collapsing_a_group_keeps_its_values_as_hidden_inputs(signed_in):
    url = reverse("conferences:dial-group", args=["callbacks"])
    response = signed_in.post(
        url,
        {"open": "0", "status_callback_event": ["ringing", "completed"]},
        **HX,
    )
    html = response.content.decode()
    assert 'class="group collapsed"' in html
    assert '<input type="hidden" name="status_callback_event" value="ringing">' in html
    assert '<input type="hidden" name="status_callback_event" value="completed">' in html


def test_an_unknown_group_is_not_found(signed_in):
    assert signed_in.post(reverse("conferences:dial-group", args=["nope"]), **HX).status_code == 404


def test_an_invalid_value_comes_back_in_place_with_everything_typed_kept(signed_in):
    data = {**GOOD, "timeout": "3", "wait_url": "https://example.com/hold.xml"}
    response = signed_in.post(reverse("conferences:dial-submit"), data, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<form id="dial-form"')
    assert "greater than or equal to 5" in html
    assert 'value="Morning standup"' in html
    assert 'value="https://example.com/hold.xml"' in html
    # The groups holding the error and the value are open.
    assert '<fieldset class="group" id="group-call">' in html
    assert '<fieldset class="group" id="group-conference">' in html
    assert not DialRequest.objects.exists()


def test_a_good_dial_is_queued_audited_and_the_form_is_ready_for_the_next_caller(
    signed_in, operator, django_capture_on_commit_callbacks
):
    data = {**GOOD, "muted": "true", "beep": "onEnter"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in.post(reverse("conferences:dial-submit"), data, **HX)
    assert response.status_code == 201
    dial = DialRequest.objects.get()
    assert dial.status == DialStatus.PENDING
    assert dial.operator == operator
    assert dial.params["Muted"] == "true"
    assert len(callbacks) == 1
    html = response.content.decode()
    assert 'id="recent-dials" hx-swap-oob="true"' in html
    assert f'id="dial-{dial.pk}"' in html
    assert 'name="to"' in html and 'value="+15005550006" autofocus' not in html
    assert 'value="Morning standup"' in html
    assert AuditEntry.objects.get(dial=dial).action == "dial"


def test_a_plain_post_without_javascript_redirects_after_dialing(signed_in):
    response = signed_in.post(reverse("conferences:dial-submit"), GOOD)
    assert response.status_code == 302
    assert DialRequest.objects.count() == 1


def test_a_label_already_used_in_the_conference_is_a_form_error(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), {**GOOD, "label": "chair"})
    response = signed_in.post(reverse("conferences:dial-submit"), {**GOOD, "label": "chair"}, **HX)
    assert response.status_code == 200
    assert "already used in this conference" in response.content.decode()
    assert DialRequest.objects.count() == 1


def test_a_callback_url_off_the_relay_allow_list_is_refused(signed_in):
    data = {**GOOD, "status_callback": "https://hooks.example.com/twilio"}
    response = signed_in.post(reverse("conferences:dial-submit"), data, **HX)
    assert response.status_code == 200
    assert "not on the relay allow-list" in response.content.decode()


def test_the_sip_password_never_reaches_a_page_a_log_line_or_the_task(
    signed_in, caplog, django_capture_on_commit_callbacks, settings
):
    secret = "s3cr3t-sip-pass-word"
    data = {
        **GOOD,
        "to": "sip:alice@pbx.example.com",
        "from": "alice",
        "sip_auth_username": "alice",
        "sip_auth_password": secret,
    }
    redis = redis_client()
    redis.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("conferences:dial-submit"), data, **HX)
        invalid = signed_in.post(reverse("conferences:dial-submit"), {**data, "timeout": "1"}, **HX)
    assert response.status_code == 201
    assert secret not in response.content.decode()
    assert secret not in invalid.content.decode()
    assert secret not in caplog.text
    dial = DialRequest.objects.get()
    assert secret not in json.dumps(dial.params)
    assert dial.sip_auth_password_encrypted and secret not in dial.sip_auth_password_encrypted
    messages = redis.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)
    assert messages, "the task was enqueued"
    assert all(secret.encode() not in message for message in messages)
    # The task gets the dial's id and nothing else.
    body = json.loads(base64.b64decode(json.loads(messages[0])["body"]))
    assert body[0] == [dial.pk] and body[1] == {}
    redis.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


def test_operators_save_their_own_presets_and_start_from_them(signed_in, operator):
    data = {
        **GOOD,
        "action": "save-preset",
        "preset_name": "Board call",
        "timeout": "30",
        "record": "true",
        "to": "",
    }
    response = signed_in.post(reverse("conferences:dial-submit"), data, **HX)
    assert "Preset “Board call” saved." in response.content.decode()
    preset = DialPreset.objects.get()
    assert preset.owner == operator
    assert preset.values == {"timeout": "30", "record": "true"}
    page = signed_in.get(reverse("conferences:dial") + f"?preset={preset.pk}").content.decode()
    assert 'name="timeout" value="30"' in page


def test_only_supervisors_share_presets(client, operator, supervisor):
    data = {
        **GOOD,
        "action": "save-preset",
        "preset_name": "Shared",
        "shared": "on",
        "timeout": "30",
    }
    client.force_login(operator)
    response = client.post(reverse("conferences:dial-submit"), data, **HX)
    assert "Only supervisors manage shared presets." in response.content.decode()
    client.force_login(supervisor)
    client.post(reverse("conferences:dial-submit"), data, **HX)
    assert DialPreset.objects.get().is_shared
    # Everyone sees a shared preset.
    client.force_login(operator)
    assert "Shared" in client.get(reverse("conferences:dial")).content.decode()


def test_dial_again_prefills_the_operators_own_callback_not_ours(signed_in, operator, settings):
    from conferences.models import RelayAllowedHost

    RelayAllowedHost.objects.create(host="hooks.example.com")
    data = {**GOOD, "status_callback": "https://hooks.example.com/t", "timeout": "20"}
    signed_in.post(reverse("conferences:dial-submit"), data)
    dial = DialRequest.objects.get()
    assert dial.params["StatusCallback"].startswith(settings.PUBLIC_BASE_URL)
    page = signed_in.get(reverse("conferences:dial") + f"?again={dial.pk}").content.decode()
    assert 'value="https://hooks.example.com/t"' in page
    assert 'value="Morning standup"' in page and 'name="timeout" value="20"' in page


def test_someone_elses_dial_cannot_be_dialed_again_by_an_operator(client, operator):
    other = make_user("otto", "operator")
    client.force_login(other)
    client.post(reverse("conferences:dial-submit"), {**GOOD, "timeout": "44"})
    client.force_login(operator)
    dial = DialRequest.objects.get()
    page = client.get(reverse("conferences:dial") + f"?again={dial.pk}").content.decode()
    assert 'value="44"' not in page


def test_recent_dials_poll_while_a_dial_is_under_way(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), GOOD)
    html = signed_in.get(reverse("conferences:recent-dials"), **HX).content.decode()
    assert 'hx-trigger="every 2s"' in html
    DialRequest.objects.update(status=DialStatus.COMPLETED)
    html = signed_in.get(reverse("conferences:recent-dials"), **HX).content.decode()
    assert "hx-trigger" not in html
