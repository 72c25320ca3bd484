"""Callbacks arriving at the same moment, over HTTP to a live server, applied by several
appliers at once: no update is lost, nothing deadlocks."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from conferences.callbacks import applier as callback_applier
from conferences.callbacks.addresses import callback_url
from conferences.models import CallbackEvent, DialRequest, DialStatus
from tests.support.callbacks import load_payload, make_dial, sign
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = 50


def send_all_at_once(url: str, bodies: Sequence[Mapping[str, str]], token: str) -> list[int]:
    """POST every body to url from its own thread, all released together."""
    start = threading.Barrier(len(bodies))

    def send(body: Mapping[str, str]) -> int:
        headers = {"X-Twilio-Signature": sign(token, url, body)}
        start.wait(timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                return requests.post(url, data=body, headers=headers, timeout=60).status_code
            except requests.ConnectionError:
                # The test server's listen backlog is 10: a burst of 50 connections can be
                # reset before Django sees them. Sending again is safe: callbacks dedupe.
                if time.monotonic() > deadline:
                    raise

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


@pytest.fixture
def public_url(live_server, settings, appliers):
    settings.PUBLIC_BASE_URL = live_server.url


@pytest.fixture
def appliers() -> Iterator[Callable[[], None]]:
    """Four appliers at work while the callbacks arrive, as a worker with concurrency 4
    runs them: each on its own database connection. Yields a wait for the backlog."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def apply_until_stopped() -> None:
        try:
            while not stop.is_set():
                if not callback_applier.apply_pending_callbacks(time_budget=1.0).applied:
                    stop.wait(0.01)  # nothing waiting: look again shortly
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply_until_stopped) for _ in range(4)]
    for thread in threads:
        thread.start()

    def drained() -> None:
        wait_for(lambda: not callback_applier.unapplied_events().exists(), timeout=30)

    yield drained
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []


def call_sid(number: int) -> str:
    return f"CA{number:032x}"


def test_fifty_participants_joining_at_once_are_all_recorded(
    public_url, appliers, operator, settings
):
    first = make_dial(operator, label="participant-0", call_sid=call_sid(0))
    dials = [first] + [
        make_dial(operator, conference=first.conference, label=f"participant-{n}", call_sid="")
        for n in range(1, COUNT)
    ]
    bodies = []
    for number, dial in enumerate(dials):
        body = load_payload("participant-join")
        body.update(
            AccountSid=dial.account.account_sid,
            CallSid=call_sid(number),
            ParticipantLabel=dial.label,
            SequenceNumber=str(number + 1),
        )
        bodies.append(body)

    # Twilio reports every participant to the first participant's conference URL.
    statuses = send_all_at_once(
        callback_url("conference", first.pk), bodies, settings.TWILIO_AUTH_TOKEN
    )

    assert statuses == [204] * COUNT
    appliers()
    assert CallbackEvent.objects.filter(applied_at__isnull=False).count() == COUNT
    for number, dial in enumerate(dials):
        dial.refresh_from_db()
        assert (dial.status, dial.call_sid) == (DialStatus.IN_PROGRESS, call_sid(number))
        assert dial.joined_at is not None
    first.conference.refresh_from_db()
    assert first.conference.sid == load_payload("participant-join")["ConferenceSid"]
    assert first.conference.last_sequence_number == COUNT


def test_fifty_mutes_and_unmutes_at_once_leave_the_latest_value(
    public_url, appliers, operator, settings
):
    dial = make_dial(operator)
    bodies = []
    for sequence in range(1, COUNT + 1):
        event = "participant-mute" if sequence % 2 else "participant-unmute"
        body = load_payload(event)
        body.update(
            AccountSid=dial.account.account_sid,
            SequenceNumber=str(sequence),
            Muted="true" if sequence % 2 else "false",
        )
        bodies.append(body)
    random.Random(8).shuffle(bodies)

    statuses = send_all_at_once(
        callback_url("conference", dial.pk), bodies, settings.TWILIO_AUTH_TOKEN
    )

    assert statuses == [204] * COUNT
    appliers()
    dial.refresh_from_db()
    assert dial.muted is False  # SequenceNumber 50 is an unmute
    assert dial.muted_sequence == COUNT
    assert CallbackEvent.objects.filter(dial=dial, applied_at__isnull=False).count() == COUNT


def test_the_same_callback_ten_times_at_once_is_stored_once(
    public_url, appliers, operator, settings
):
    dial = make_dial(operator)
    body = load_payload("call-status-completed")
    body.update(AccountSid=dial.account.account_sid, CallSid=dial.call_sid)

    statuses = send_all_at_once(
        callback_url("call-status", dial.pk), [body] * 10, settings.TWILIO_AUTH_TOKEN
    )

    assert statuses == [204] * 10
    appliers()
    assert CallbackEvent.objects.count() == 1
    assert DialRequest.objects.get(pk=dial.pk).status == DialStatus.COMPLETED
