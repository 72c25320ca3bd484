"""Relays: exactly the events the operator asked for, signed, only to allowed public hosts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from conferences.callbacks import relay
from conferences.callbacks import tasks as callback_tasks
from conferences.gateway import signatures
from conferences.models import (
    CallbackEvent,
    DialStatus,
    RelayAllowedHost,
    RelayDelivery,
    RelayDeliveryStatus,
)
from tests.support.callbacks import make_dial, payload_for

pytestmark = pytest.mark.django_db


@dataclass
class Hook:
    """A local HTTP server playing the operator's callback endpoint."""

    answers: list[int]
    received: list[dict[str, object]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def url(self, path: str = "/twilio-hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook(answers=[200])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            state.received.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            status = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_local(settings, hook):
    settings.RELAY_ALLOW_PRIVATE_ADDRESSES = True
    RelayAllowedHost.objects.create(host="127.0.0.1", port=hook.port)


def relayed_dial(operator, kind, url, *, method="POST", events=None):
    target = {"url": url, "method": method}
    if events is not None:
        target["events"] = events
    return make_dial(operator, relay_targets={kind: target})


def deliveries() -> list[tuple[str, str]]:
    return list(RelayDelivery.objects.values_list("event__event", "status").order_by("pk"))


class TestWhichEventsAreRelayed:
    def test_only_the_call_status_events_asked_for(self, twilio, operator):
        dial = relayed_dial(
            operator, "call-status", "https://hooks.example.com/s", events=["ringing", "answered"]
        )
        for name in ("initiated", "ringing", "in-progress", "completed"):
            twilio.fixture(dial, f"call-status-{name}")
        assert deliveries() == [("ringing", "pending"), ("in-progress", "pending")]

    def test_completed_by_default_and_for_every_way_a_call_ends(self, twilio, operator):
        dial = relayed_dial(operator, "call-status", "https://hooks.example.com/s")
        twilio.fixture(dial, "call-status-ringing")
        twilio.fixture(dial, "call-status-busy")
        assert deliveries() == [("busy", "pending")]

    def test_conference_start_and_end_by_default(self, twilio, operator):
        dial = relayed_dial(operator, "conference", "https://hooks.example.com/c")
        for name in ("conference-start", "participant-join", "participant-mute", "conference-end"):
            twilio.fixture(dial, name)
        assert [event for event, _ in deliveries()] == ["conference-start", "conference-end"]

    def test_conference_events_by_twilios_request_names(self, twilio, operator):
        dial = relayed_dial(
            operator, "conference", "https://hooks.example.com/c", events=["join", "mute", "hold"]
        )
        names = [
            "conference-start",
            "participant-join",
            "participant-mute",
            "participant-unmute",
            "participant-hold",
            "participant-leave",
        ]
        for name in names:
            twilio.fixture(dial, name)
        assert [event for event, _ in deliveries()] == [
            "participant-join",
            "participant-mute",
            "participant-unmute",
            "participant-hold",
        ]

    def test_nothing_is_relayed_without_a_target_for_the_kind(self, twilio, operator):
        dial = relayed_dial(operator, "conference", "https://hooks.example.com/c")
        twilio.fixture(dial, "call-status-completed")
        assert deliveries() == []

    def test_a_duplicate_is_relayed_once(self, twilio, operator):
        dial = relayed_dial(operator, "call-status", "https://hooks.example.com/s")
        twilio.fixture(dial, "call-status-completed")
        twilio.fixture(dial, "call-status-completed")
        assert len(deliveries()) == 1

    def test_the_relay_is_enqueued_only_after_the_commit(
        self, twilio, operator, django_capture_on_commit_callbacks
    ):
        dial = relayed_dial(operator, "call-status", "https://hooks.example.com/s")
        with django_capture_on_commit_callbacks(execute=False) as pending:
            twilio.fixture(dial, "call-status-completed")
        assert len(pending) == 1


def test_the_relay_task_has_a_stable_name():
    assert callback_tasks.relay_callback.name == "conferences.relay.relay_callback"


def relay_now(delivery: RelayDelivery) -> RelayDelivery:
    callback_tasks.relay_callback.apply(args=(delivery.pk,))
    delivery.refresh_from_db()
    return delivery


def test_a_failing_target_is_retried_with_the_same_signed_body_until_it_answers(
    twilio, operator, hook, allow_local, settings
):
    hook.answers = [500, 200]
    dial = relayed_dial(operator, "call-status", hook.url())
    params = payload_for(dial, "call-status-completed")
    twilio.send("call-status", dial.pk, params)

    delivery = relay_now(RelayDelivery.objects.get())

    assert delivery.status == RelayDeliveryStatus.DELIVERED
    assert delivery.attempts == 2
    assert delivery.last_status_code == 200
    assert delivery.delivered_at is not None
    assert len(hook.received) == 2
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    tokens = {request["headers"]["I-Twilio-Idempotency-Token"] for request in hook.received}
    assert len(tokens) == 1  # the receiver can tell the retry is a repeat
    for request in hook.received:
        assert request["method"] == "POST"
        form = parse_qs(str(request["body"]), keep_blank_values=True)
        flat = {name: values[0] for name, values in form.items()}
        assert flat == params
        signature = request["headers"]["X-Twilio-Signature"]
        assert validator.validate(hook.url(), flat, signature)


def test_a_target_that_keeps_failing_is_given_up_after_the_last_attempt(
    twilio, operator, hook, allow_local, settings
):
    settings.RELAY_MAX_ATTEMPTS = 3
    hook.answers = [503]
    dial = relayed_dial(operator, "call-status", hook.url())
    twilio.fixture(dial, "call-status-completed")

    delivery = relay_now(RelayDelivery.objects.get())

    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 503)
    assert len(hook.received) == 3
    # The app's own record is untouched by the relay's fate.
    dial.refresh_from_db()
    assert dial.status == DialStatus.COMPLETED
    assert CallbackEvent.objects.get().applied_at is not None


def test_a_client_error_is_not_retried(twilio, operator, hook, allow_local):
    hook.answers = [404]
    dial = relayed_dial(operator, "call-status", hook.url())
    twilio.fixture(dial, "call-status-completed")
    delivery = relay_now(RelayDelivery.objects.get())
    assert (delivery.status, delivery.attempts) == ("failed", 1)


def test_redirects_are_not_followed(twilio, operator, hook, allow_local):
    hook.answers = [302]
    dial = relayed_dial(operator, "call-status", hook.url())
    twilio.fixture(dial, "call-status-completed")
    delivery = relay_now(RelayDelivery.objects.get())
    assert delivery.status == RelayDeliveryStatus.FAILED
    assert "redirect" in delivery.last_error
    assert len(hook.received) == 1


def test_a_get_relay_carries_the_parameters_in_its_signed_query(
    twilio, operator, hook, allow_local, settings
):
    dial = relayed_dial(operator, "conference", hook.url("/hook?tenant=7"), method="GET")
    params = payload_for(dial, "conference-start")
    twilio.send("conference", dial.pk, params)

    delivery = relay_now(RelayDelivery.objects.get())

    assert delivery.status == RelayDeliveryStatus.DELIVERED
    (request,) = hook.received
    assert request["method"] == "GET"
    query = parse_qs(urlsplit(str(request["path"])).query, keep_blank_values=True)
    assert query.pop("tenant") == ["7"]
    assert {name: values[0] for name, values in query.items()} == params
    full_url = f"http://127.0.0.1:{hook.port}{request['path']}"
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    assert validator.validate(full_url, {}, request["headers"]["X-Twilio-Signature"])


def test_a_target_resolving_to_a_private_address_is_refused(twilio, operator, hook, settings):
    settings.RELAY_ALLOW_PRIVATE_ADDRESSES = False
    RelayAllowedHost.objects.create(host="localhost", port=hook.port)
    dial = relayed_dial(operator, "call-status", hook.url(host="localhost"))
    twilio.fixture(dial, "call-status-completed")

    delivery = relay_now(RelayDelivery.objects.get())

    assert delivery.status == RelayDeliveryStatus.REFUSED
    assert "private" in delivery.last_error
    assert hook.received == []


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.0.10", "::1", "fe80::1"]
)
def test_private_loopback_and_link_local_addresses_are_not_public(address):
    assert not relay._is_public(address)


def test_public_addresses_are_public():
    assert relay._is_public("93.184.216.34")
    assert relay._is_public("2606:2800:220:1:248:1893:25c8:1946")


def test_a_host_not_on_the_allow_list_is_refused(twilio, operator, hook, settings):
    settings.RELAY_ALLOW_PRIVATE_ADDRESSES = True
    RelayAllowedHost.objects.create(host="127.0.0.1", port=hook.port, active=False)
    dial = relayed_dial(operator, "call-status", hook.url())
    twilio.fixture(dial, "call-status-completed")

    delivery = relay_now(RelayDelivery.objects.get())

    assert delivery.status == RelayDeliveryStatus.REFUSED
    assert "allow-list" in delivery.last_error
    assert hook.received == []


@pytest.mark.parametrize(
    ("entry_port", "url", "allowed"),
    [
        (None, "https://hooks.example.com/x", True),
        (None, "https://hooks.example.com:443/x", True),
        (None, "https://hooks.example.com:8443/x", False),
        (8443, "https://hooks.example.com:8443/x", True),
        (8443, "https://hooks.example.com/x", False),
        (None, "https://HOOKS.example.com/x", True),
        (None, "https://evil.hooks.example.com/x", False),
        (None, "ftp://hooks.example.com/x", False),
        (None, "https://user:pw@hooks.example.com/x", False),
    ],
)
def test_the_allow_list_matches_host_and_port_exactly(entry_port, url, allowed):
    RelayAllowedHost.objects.create(host="Hooks.Example.com", port=entry_port)
    assert (relay.check_target_url(url) is None) is allowed


def test_relays_are_signed_like_twilio_signs():
    # Twilio's documented example (see shared/TWILIO_NOTES.md).
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert (
        signatures.twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


@pytest.fixture
def tasks_run_in_process() -> Iterator[None]:
    """Celery runs enqueued tasks at once, here: no broker another test run could share."""
    conf = callback_tasks.relay_callback.app.conf
    before = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = before


def test_pending_relays_left_by_a_broker_outage_are_sent_again(
    twilio, operator, hook, allow_local, tasks_run_in_process
):
    dial = relayed_dial(operator, "call-status", hook.url())
    twilio.fixture(dial, "call-status-completed")  # its on-commit enqueue never ran
    RelayDelivery.objects.update(created_at=timezone.now() - timedelta(hours=1))

    assert callback_tasks.resend_pending_relays.apply().get() == 1

    assert RelayDelivery.objects.get().status == RelayDeliveryStatus.DELIVERED
    assert len(hook.received) == 1


class TestRecordingEventsAreRelayedAsChosen:
    """Every recording event an operator can pick reaches their URL, and nothing else."""

    PICKED = ["started", "paused", "resumed", "stopped", "failed"]

    @pytest.mark.parametrize("status", PICKED)
    def test_each_picked_recording_event_is_relayed(self, twilio, operator, status):
        dial = relayed_dial(
            operator, "recording", "https://hooks.example.com/r", events=self.PICKED
        )
        twilio.fixture(dial, "recording-in-progress", RecordingStatus=status)
        twilio.fixture(dial, "recording-completed")
        assert deliveries() == [(status, "pending")]

    def test_completed_only_when_no_events_were_picked(self, twilio, operator):
        dial = relayed_dial(operator, "recording", "https://hooks.example.com/r")
        twilio.fixture(dial, "recording-in-progress", RecordingStatus="paused")
        twilio.fixture(dial, "recording-completed")
        assert deliveries() == [("completed", "pending")]
