"""Two faults seen from a client: a create whose answer hangs still plays its call and sends
its callbacks (as Twilio does: a slow answer never stops them), and answers made wrong on
purpose (`wrong_answer`) while the request itself is carried out as asked."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.helpers import FROM, Receiver, make_client, make_sandbox
from tests.support.waiting import wait_for
from twilio_sandbox import Faults

STAYS = "+15005550006"
HANG_SECONDS = 30.0
EVENTS = ["initiated", "ringing", "answered"]


def test_creates_whose_answers_hang_still_send_every_callback_of_their_calls(
    receiver: Receiver,
) -> None:
    faults = Faults.from_json({"hang_after_create_seconds": HANG_SECONDS})
    with make_sandbox(faults=faults) as sandbox:
        impatient = make_client(sandbox, timeout=0.3)
        started = time.monotonic()
        for n in range(4):
            with pytest.raises(requests.exceptions.Timeout):
                impatient.conferences("hung").participants.create(
                    from_=FROM,
                    to=STAYS,
                    label=f"hung-{n}",
                    status_callback=f"{receiver.url}/status/{n}",
                    status_callback_event=EVENTS,
                )
        for n in range(4):
            received = receiver.wait(f"/status/{n}", len(EVENTS), timeout=10)
            statuses = [r.one("CallStatus") for r in received]
            assert statuses == ["initiated", "ringing", "in-progress"]
        # Every hang is still on: the callbacks did not wait for the answers.
        assert time.monotonic() - started < HANG_SECONDS
        hung = [r for r in sandbox.requests() if r["method"] == "POST"]
        assert len(hung) == 4 and all(r["status"] is None for r in hung)
        delivery = {entry["status"] for entry in sandbox.callbacks()}
        assert delivery == {"delivered"}


def test_a_create_can_be_answered_with_the_callsid_of_an_earlier_call() -> None:
    with make_sandbox() as sandbox:
        client = make_client(sandbox)
        first = client.conferences("reused").participants.create(from_=FROM, to=STAYS, label="a")
        sandbox.set_faults(Faults.from_json({"wrong_answer": "reused_call_sid"}))
        second = client.conferences("reused").participants.create(from_=FROM, to=STAYS, label="b")
        assert second.call_sid == first.call_sid
        sandbox.set_faults(Faults())
        # The call was made all the same, with its own SID, under the label asked for.
        listed = client.conferences(first.conference_sid).participants.list()
        assert sorted(p.label for p in listed) == ["a", "b"]
        assert len({p.call_sid for p in listed}) == 2


@pytest.mark.parametrize(
    ("wrong", "field"), [("other_label", "label"), ("other_conference", "conference_sid")]
)
def test_a_create_can_be_answered_about_another_label_or_conference(wrong, field) -> None:
    with make_sandbox(faults=Faults.from_json({"wrong_answer": wrong})) as sandbox:
        client = make_client(sandbox)
        answered = client.conferences("asked").participants.create(
            from_=FROM, to=STAYS, label="asked-for"
        )
        sandbox.set_faults(Faults())
        (conference,) = client.conferences.list(friendly_name="asked")
        (participant,) = client.conferences(conference.sid).participants.list()
        truth = {"label": participant.label, "conference_sid": conference.sid}
        assert getattr(answered, field) != truth[field]
        assert answered.call_sid == participant.call_sid
        assert participant.label == "asked-for"


def test_a_call_fetch_can_be_answered_about_another_call() -> None:
    with make_sandbox() as sandbox:
        client = make_client(sandbox)
        asked = client.conferences("f").participants.create(from_=FROM, to=STAYS)
        other = client.conferences("f").participants.create(from_=FROM, to="+15005552001")
        sandbox.set_faults(Faults.from_json({"wrong_answer": "other_call"}))
        assert client.calls(asked.call_sid).fetch().sid == other.call_sid


def test_an_unknown_wrong_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="wrong_answer must be one of"):
        Faults.from_json({"wrong_answer": "anything"})


def test_wrong_answers_wait_for_the_calls_own_callbacks(receiver: Receiver) -> None:
    # A wrong answer changes only the answer: the call's callbacks carry its real SID.
    with make_sandbox() as sandbox:
        client = make_client(sandbox)
        first = client.conferences("cb").participants.create(from_=FROM, to=STAYS)
        sandbox.set_faults(Faults.from_json({"wrong_answer": "reused_call_sid"}))
        client.conferences("cb").participants.create(
            from_=FROM,
            to=STAYS,
            status_callback=f"{receiver.url}/status",
            status_callback_event=["initiated"],
        )
        (received,) = receiver.wait("/status", 1)
        assert received.one("CallSid") != first.call_sid
        wait_for(lambda: sandbox.callbacks(status="delivered"), timeout=5)
