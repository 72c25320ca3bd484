"""Each fault, observed where a client of the real API would see it."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.helpers import ACCOUNT_SID, AUTH_TOKEN, FROM, Receiver, make_client, make_sandbox
from tests.support.waiting import wait_for
from twilio_sandbox import Faults, Sandbox

STAYS = "+15005550006"


def participants_url(sandbox: Sandbox, room: str) -> str:
    return f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{room}/Participants.json"


def test_calls_beyond_cps_are_queued_with_growing_queue_time(receiver: Receiver) -> None:
    with make_sandbox(faults=Faults(cps=10.0)) as sandbox:
        client = make_client(sandbox)
        created_at = time.monotonic()
        participants = [
            client.conferences("cps").participants.create(
                from_=FROM,
                to=STAYS,
                label=f"p{n}",
                status_callback=f"{receiver.url}/status/{n}",
                status_callback_event=["initiated"],
            )
            for n in range(4)
        ]
        elapsed_ms = (time.monotonic() - created_at) * 1000
        queue_times = [int(p.queue_time) for p in participants]
        assert queue_times[0] == 0
        assert queue_times == sorted(queue_times)
        # Three slots of 100 ms ahead of it, less the time the four creates took to send.
        assert 300 - elapsed_ms - 20 <= queue_times[3] <= 320
        assert participants[3].status == "queued"
        assert client.calls(participants[3].call_sid).fetch().queue_time == str(queue_times[3])
        (initiated,) = receiver.wait("/status/3", 1)
        assert initiated.at - created_at >= 0.25


def test_queue_past_its_cap_answers_22005() -> None:
    with make_sandbox(faults=Faults(cps=1.0, queue_cap_seconds=1.5)) as sandbox:
        client = make_client(sandbox)
        client.conferences("full").participants.create(from_=FROM, to=STAYS)
        second = client.conferences("full").participants.create(from_=FROM, to=STAYS)
        assert int(second.queue_time) > 900
        with pytest.raises(TwilioRestException) as caught:
            client.conferences("full").participants.create(from_=FROM, to=STAYS)
        assert (caught.value.status, caught.value.code) == (400, 22005)
        assert len(client.conferences.list()[0].participants.list()) == 2


def test_concurrent_requests_beyond_the_limit_get_429_20429() -> None:
    faults = Faults.from_json({"max_concurrent_requests": 1, "latency_ms": 300})
    with make_sandbox(faults=faults) as sandbox:
        statuses: list[int] = []
        codes: list[int] = []

        def attempt(n: int) -> None:
            response = requests.post(
                participants_url(sandbox, "busy-api"),
                data={"From": FROM, "To": STAYS, "Label": f"c{n}"},
                auth=(ACCOUNT_SID, AUTH_TOKEN),
                timeout=5,
            )
            statuses.append(response.status_code)
            codes.append(response.json()["code"] if response.status_code != 201 else 0)

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Counter(statuses) == Counter({201: 1, 429: 2})
        assert sorted(codes) == [0, 20429, 20429]
        # A 429 is never processed: only the one accepted request created anything.
        assert len(sandbox.store.calls) == 1


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503)])
def test_server_errors_answer_before_doing_anything(status: int, code: int) -> None:
    faults = Faults.from_json({"error_rate": 1.0, "error_statuses": [status]})
    with make_sandbox(faults=faults) as sandbox:
        client = make_client(sandbox)
        with pytest.raises(TwilioRestException) as caught:
            client.conferences("errors").participants.create(from_=FROM, to=STAYS)
        assert (caught.value.status, caught.value.code) == (status, code)
        sandbox.set_faults(Faults())
        assert client.conferences.list() == []


def error_pattern(seed: int) -> list[int]:
    faults = Faults.from_json({"error_rate": 0.4})
    with make_sandbox(faults=faults, seed=seed) as sandbox:
        auth = (ACCOUNT_SID, AUTH_TOKEN)
        url = f"{sandbox.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
        return [requests.get(url, auth=auth, timeout=5).status_code for _ in range(30)]


def test_error_share_is_decided_by_the_seed() -> None:
    first = error_pattern(seed=3)
    assert first == error_pattern(seed=3)
    assert {200, 500, 503} == set(first)
    assert 4 <= sum(status != 200 for status in first) <= 20


def test_hang_after_create_leaves_exactly_one_participant(receiver: Receiver) -> None:
    faults = Faults.from_json({"hang_after_create_seconds": 30})
    with make_sandbox(faults=faults) as sandbox:
        impatient = make_client(sandbox, timeout=0.5)
        with pytest.raises(requests.exceptions.Timeout):
            impatient.conferences("hung").participants.create(
                from_=FROM,
                to=STAYS,
                label="only-once",
                status_callback=f"{receiver.url}/status",
                status_callback_event=["answered"],
            )
        receiver.wait("/status", 1)  # the call went ahead anyway
        sandbox.set_faults(Faults())
        client = make_client(sandbox)
        (conference,) = client.conferences.list(friendly_name="hung")
        participants = client.conferences(conference.sid).participants.list()
        assert [p.label for p in participants] == ["only-once"]
        entry = next(r for r in sandbox.requests() if r["method"] == "POST")
        assert entry["status"] is None


def test_latency_delays_the_answer() -> None:
    with make_sandbox(faults=Faults.from_json({"latency_ms": 250, "jitter_ms": 50})) as sandbox:
        client = make_client(sandbox)
        started = time.monotonic()
        client.calls.list()
        assert 0.25 <= time.monotonic() - started < 2


def test_faults_can_target_a_label_prefix_or_a_to_number() -> None:
    faults = Faults.from_json(
        {
            "rules": [
                {"match": {"label_prefix": "flaky-"}, "error_rate": 1.0, "error_statuses": [503]},
                {"match": {"to": "+15005551001"}, "error_rate": 1.0, "error_statuses": [500]},
            ]
        }
    )
    with make_sandbox(faults=faults) as sandbox:
        client = make_client(sandbox)
        with pytest.raises(TwilioRestException) as caught:
            client.conferences("t").participants.create(from_=FROM, to=STAYS, label="flaky-1")
        assert caught.value.status == 503
        with pytest.raises(TwilioRestException) as caught:
            client.conferences("t").participants.create(from_=FROM, to="+15005551001")
        assert caught.value.status == 500
        steady = client.conferences("t").participants.create(from_=FROM, to=STAYS, label="steady")
        assert steady.label == "steady"
        assert client.calls.list()  # lists name no participant: untouched by targeted rules


def callback_sandbox(**rule: object) -> Sandbox:
    return make_sandbox(faults=Faults.from_json({"rules": [rule]}))


def dial_all_events(sandbox: Sandbox, receiver: Receiver, to: str, label: str, path: str):
    return (
        make_client(sandbox)
        .conferences("callbacks")
        .participants.create(
            from_=FROM,
            to=to,
            label=label,
            status_callback=f"{receiver.url}{path}",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
    )


def test_duplicated_callbacks_arrive_twice_with_the_same_token(receiver: Receiver) -> None:
    with callback_sandbox(callback_duplicate_rate=1.0) as sandbox:
        dial_all_events(sandbox, receiver, "+15005551001", "dup", "/status")
        received = receiver.wait("/status", 8)
        by_sequence = Counter(r.one("SequenceNumber") for r in received)
        assert by_sequence == Counter({"0": 2, "1": 2, "2": 2, "3": 2})
        first, second = received[0], received[1]
        assert first.params == second.params
        assert (
            first.headers["I-Twilio-Idempotency-Token"]
            == (second.headers["I-Twilio-Idempotency-Token"])
        )
        assert sum(c["duplicate"] for c in sandbox.callbacks()) == 4


def test_reordered_callbacks_arrive_out_of_order(receiver: Receiver) -> None:
    with callback_sandbox(callback_reorder_rate=1.0) as sandbox:
        dial_all_events(sandbox, receiver, "+15005551001", "shuffled", "/status")
        received = receiver.wait("/status", 4)
        assert [r.one("SequenceNumber") for r in received] == ["1", "0", "3", "2"]


def test_dropped_callbacks_never_arrive_for_the_targeted_call(receiver: Receiver) -> None:
    with callback_sandbox(match={"label": "lost"}, callback_drop_rate=1.0) as sandbox:
        lost = dial_all_events(sandbox, receiver, "+15005551001", "lost", "/lost")
        dial_all_events(sandbox, receiver, "+15005551001", "kept", "/kept")
        receiver.wait("/kept", 4)
        wait_for(
            lambda: len(sandbox.callbacks(call_sid=lost.call_sid, status="dropped")) == 4,
            timeout=10,
            interval=0.01,
        )
        assert receiver.at("/lost") == []


def test_endpoint_down_fails_every_callback_without_retry(receiver: Receiver) -> None:
    with callback_sandbox(callback_endpoint_down=True) as sandbox:
        participant = dial_all_events(sandbox, receiver, "+15005551001", "down", "/status")
        failed = wait_for(
            lambda: (
                len(found := sandbox.callbacks(call_sid=participant.call_sid, status="failed")) == 4
                and found
            ),
            timeout=10,
            interval=0.01,
        )
        assert all("endpoint down" in entry["error"] for entry in failed)
        assert receiver.at("/status") == []


def test_delayed_callbacks_arrive_late(receiver: Receiver) -> None:
    with callback_sandbox(callback_delay_ms=400) as sandbox:
        created = time.monotonic()
        make_client(sandbox).conferences("late").participants.create(
            from_=FROM,
            to=STAYS,
            status_callback=f"{receiver.url}/status",
            status_callback_event=["initiated"],
        )
        (initiated,) = receiver.wait("/status", 1)
        assert initiated.at - created >= 0.4


def test_faults_endpoint_sets_shows_and_clears(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    posted = requests.post(url, json={"cps": 2, "error_rate": 0.5}, timeout=5)
    assert posted.status_code == 200
    shown = requests.get(url, timeout=5).json()
    assert shown["cps"] == 2.0
    assert shown["rules"][0]["error_rate"] == 0.5
    assert requests.post(url, json={"eror_rate": 1}, timeout=5).status_code == 400
    assert requests.post(url, json={"error_rate": 2}, timeout=5).status_code == 400
    cleared = requests.delete(url, timeout=5).json()
    assert cleared["cps"] is None and cleared["rules"] == []


def test_reset_restores_the_starting_faults() -> None:
    with make_sandbox(faults=Faults(cps=5.0)) as sandbox:
        sandbox.set_faults(Faults())
        requests.post(f"{sandbox.url}/_sandbox/reset", timeout=5)
        assert sandbox.faults.cps == 5.0
