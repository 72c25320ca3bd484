"""Twilio's conference rules, each seen as the ordered events it produces."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.sandbox.helpers import FROM, Receiver
from tests.support.waiting import wait_for

STAYS = "+15005550006"
EVERY_EVENT = ["start", "end", "join", "leave", "mute", "hold", "modify", "announcement"]


def join(client, receiver: Receiver, room: str, to: str = STAYS, **extra):
    return client.conferences(room).participants.create(
        from_=FROM,
        to=to,
        conference_status_callback=f"{receiver.url}/conference",
        conference_status_callback_event=EVERY_EVENT,
        **extra,
    )


def events(receiver: Receiver) -> list[tuple[str, str | None]]:
    return [
        (r.one("StatusCallbackEvent"), next(iter(r.params.get("ParticipantLabel", [])), None))
        for r in receiver.at("/conference")
    ]


def status_of(client, participant) -> str:
    return (
        client.conferences(participant.conference_sid)
        .participants(participant.call_sid)
        .fetch()
        .status
    )


def test_waiting_participants_hold_the_conference_in_init_until_a_starter_joins(
    client, receiver: Receiver
) -> None:
    waiting = join(client, receiver, "moderated", label="guest", start_conference_on_enter=False)
    wait_for(lambda: status_of(client, waiting) == "connected", timeout=10, interval=0.01)
    conference = client.conferences(waiting.conference_sid)
    assert conference.fetch().status == "init"
    assert events(receiver) == [("participant-join", "guest")]
    join(client, receiver, "moderated", label="host")
    receiver.wait("/conference", 3)
    assert events(receiver) == [
        ("participant-join", "guest"),
        ("participant-join", "host"),
        ("conference-start", None),
    ]
    assert conference.fetch().status == "in-progress"
    assert receiver.at("/conference")[0].one("StartConferenceOnEnter") == "false"


def test_end_conference_on_exit_participant_leaving_ends_it_for_everyone(
    client, receiver: Receiver
) -> None:
    host = join(
        client, receiver, "hosted", to="+15005551030", label="host", end_conference_on_exit=True
    )
    guest = join(client, receiver, "hosted", label="guest")
    received = receiver.wait("/conference", 6)
    assert [e for e, _ in events(receiver)] == [
        "participant-join",
        "conference-start",
        "participant-join",
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]
    assert received[3].one("ReasonParticipantLeft") == "participant_hung_up"
    assert received[4].one("ReasonParticipantLeft") == "moderator_ended_conference"
    end = received[5].flat()
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == host.call_sid
    assert end["ParticipantLabelEndingConference"] == "host"
    conference = client.conferences(host.conference_sid).fetch()
    assert conference.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert conference.call_sid_ending_conference == host.call_sid
    assert client.calls(guest.call_sid).fetch().status == "completed"


def test_kicking_the_end_conference_on_exit_participant_reports_kicked(
    client, receiver: Receiver
) -> None:
    host = join(client, receiver, "kicked", label="host", end_conference_on_exit=True)
    guest = join(client, receiver, "kicked", label="guest")
    wait_for(
        lambda: status_of(client, host) == status_of(client, guest) == "connected",
        timeout=10,
        interval=0.01,
    )
    client.conferences(host.conference_sid).participants("host").delete()
    end = receiver.wait("/conference", 6)[-1]
    assert end.one("StatusCallbackEvent") == "conference-end"
    assert end.one("ReasonConferenceEnded") == "participant-with-end-conference-on-exit-kicked"


def test_last_participant_leaving_ends_the_conference(client, receiver: Receiver) -> None:
    first = join(client, receiver, "last", to="+15005551030", label="a")
    join(client, receiver, "last", to="+15005551040", label="b")
    received = receiver.wait("/conference", 6)
    assert [e for e, _ in events(receiver)][-3:] == [
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]
    end = received[-1].flat()
    assert end["ReasonConferenceEnded"] == "last-participant-left"
    assert end["ParticipantLabelEndingConference"] == "b"
    assert client.conferences(first.conference_sid).fetch().reason_conference_ended == (
        "last-participant-left"
    )


def test_max_participants_refuses_one_more_with_16020(client, receiver: Receiver) -> None:
    join(client, receiver, "pair", max_participants=2)
    join(client, receiver, "pair")
    with pytest.raises(TwilioRestException) as caught:
        join(client, receiver, "pair")
    assert (caught.value.status, caught.value.code) == (400, 16020)


def test_time_limit_hangs_up_after_its_seconds(client, receiver: Receiver) -> None:
    participant = client.conferences("limited").participants.create(
        from_=FROM, to=STAYS, time_limit=15, status_callback=f"{receiver.url}/status"
    )
    (final,) = receiver.wait("/status", 1)
    assert final.one("CallStatus") == "completed"
    assert final.one("CallDuration") == "15"
    assert client.calls(participant.call_sid).fetch().duration == "15"


def test_coach_joins_whispering_to_the_coached_call(client, receiver: Receiver) -> None:
    agent = join(client, receiver, "coached", label="agent")
    wait_for(lambda: status_of(client, agent) == "connected", timeout=10, interval=0.01)
    coach = join(
        client, receiver, "coached", label="coach", coaching=True, call_sid_to_coach=agent.call_sid
    )
    wait_for(lambda: len(receiver.at("/conference")) >= 3, timeout=10, interval=0.01)
    coach_join = receiver.at("/conference")[2].flat()
    assert coach_join["ParticipantLabel"] == "coach"
    assert coach_join["Coaching"] == "true"
    assert coach_join["CallSidToCoach"] == agent.call_sid
    fetched = client.conferences(agent.conference_sid).participants("coach").fetch()
    assert fetched.coaching is True and fetched.call_sid_to_coach == agent.call_sid
    stopped = (
        client.conferences(agent.conference_sid).participants(coach.call_sid).update(coaching=False)
    )
    assert stopped.coaching is False and stopped.call_sid_to_coach is None
    assert receiver.wait("/conference", 4)[-1].one("StatusCallbackEvent") == "participant-modify"


def test_updates_emit_mute_hold_modify_and_announcement_events_in_order(
    client, receiver: Receiver
) -> None:
    participant = join(client, receiver, "updates", label="p")
    wait_for(lambda: status_of(client, participant) == "connected", timeout=10, interval=0.01)
    target = client.conferences(participant.conference_sid).participants("p")
    target.update(muted=True)
    target.update(muted=False)
    target.update(hold=True, hold_url="https://example.com/hold.mp3")
    target.update(hold=False)
    target.update(end_conference_on_exit=True)
    target.update(beep_on_exit=False)
    target.update(muted=False)  # unchanged: no event
    target.update(announce_url="https://example.com/say.xml")
    receiver.wait("/conference", 9)
    assert [e for e, _ in events(receiver)] == [
        "participant-join",
        "conference-start",
        "participant-mute",
        "participant-unmute",
        "participant-hold",
        "participant-unhold",
        "participant-modify",
        "participant-modify",
        "announcement-end",
    ]
    mute = receiver.at("/conference")[2].flat()
    assert mute["Muted"] == "true" and mute["CallSid"] == participant.call_sid
    modify = receiver.at("/conference")[6].flat()
    assert modify["EndConferenceOnExit"] == "true"
    assert receiver.at("/conference")[8].one("CallSid") == participant.call_sid


def test_unrequested_conference_events_are_not_sent(client, receiver: Receiver) -> None:
    client.conferences("quiet").participants.create(
        from_=FROM,
        to="+15005551010",
        conference_status_callback=f"{receiver.url}/conference",
    )
    received = receiver.wait("/conference", 2)
    assert [r.one("StatusCallbackEvent") for r in received] == [
        "conference-start",
        "conference-end",
    ]
    assert [r.one("SequenceNumber") for r in received] == ["1", "2"]
