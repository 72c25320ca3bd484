"""Each roster control through the real SDK against the sandbox, its callback coming back
and the roster changing; failures shown in words; every action on the call's timeline."""

from __future__ import annotations

import threading

import pytest
from django.urls import reverse

from conferences.audit.trail import AuditAction
from conferences.live import actions as live_actions
from conferences.live.attendance import Attendance
from conferences.live.roster import Stage
from conferences.models import AuditEntry, ConferenceStatus, DialStatus
from tests.live.helpers import (
    STAYS,
    act,
    client_for,
    entry_of,
    fast_account,
    joined,
    roster_html,
    roster_of,
    started,
)
from tests.support.dialing import dial, refreshed
from tests.support.waiting import wait_for
from twilio_sandbox import Faults

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("live")]

ALSO_STAYS = "+15005550020"


def updates_to(sandbox, call_sid: str) -> list[dict]:
    return [
        entry
        for entry in sandbox.requests()
        if entry["method"] == "POST" and entry["path"].endswith(f"/Participants/{call_sid}.json")
    ]


@pytest.fixture
def two_in_standup(workers, operator):
    fast_account()
    alice = joined(operator, STAYS, "standup")
    bob = joined(operator, ALSO_STAYS, "standup")
    return started("standup"), alice, bob


def test_mute_and_unmute_go_through_twilio_and_the_roster_follows_the_callbacks(
    two_in_standup, operator, sandbox
):
    conference, alice, _ = two_in_standup
    client = client_for(operator)

    response = act(client, conference, alice.call_sid, action="mute")
    assert response.status_code == 200
    assert "Twilio accepted it" in response.content.decode()
    assert updates_to(sandbox, alice.call_sid)[-1]["params"]["Muted"] == ["true"]
    wait_for(lambda: entry_of(operator, conference, alice.call_sid).muted)
    assert "Muted" in roster_html(client, conference)
    assert f"Unmute: {alice.to_number}" in roster_html(client, conference)

    act(client, conference, alice.call_sid, action="unmute")
    wait_for(lambda: not entry_of(operator, conference, alice.call_sid).muted)

    entries = AuditEntry.objects.filter(dial=alice).order_by("at")
    assert [(e.action, e.outcome, e.actor) for e in entries] == [
        (AuditAction.MUTE, "ok", operator),
        (AuditAction.UNMUTE, "ok", operator),
    ]


def test_hold_plays_the_conferences_own_music_and_resume_brings_them_back(
    two_in_standup, operator, sandbox
):
    conference, alice, _ = two_in_standup
    client = client_for(operator)
    settings_url = reverse("conferences:conference-settings", args=[conference.pk])
    saved = client.post(
        settings_url,
        {
            "hold_music_url": "https://music.example.com/hold.mp3",
            "redial_max": "2",
            "dropped_within_seconds": "60",
            "remove_voicemail": "on",
            "callbacks_elsewhere": "unknown",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "Settings saved." in saved.content.decode()

    act(client, conference, alice.call_sid, action="hold")
    sent = updates_to(sandbox, alice.call_sid)[-1]["params"]
    assert sent["Hold"] == ["true"]
    assert sent["HoldUrl"] == ["https://music.example.com/hold.mp3"]
    assert sent["HoldMethod"] == ["GET"]
    wait_for(lambda: entry_of(operator, conference, alice.call_sid).hold)
    assert "On hold" in roster_html(client, conference)

    act(client, conference, alice.call_sid, action="resume")
    wait_for(lambda: not entry_of(operator, conference, alice.call_sid).hold)
    actions = set(AuditEntry.objects.filter(dial=alice).values_list("action", flat=True))
    assert {AuditAction.HOLD, AuditAction.RESUME} <= actions


def test_coaching_asks_whom_in_place_then_starts_and_stops(two_in_standup, operator, sandbox):
    conference, alice, bob = two_in_standup
    client = client_for(operator)
    step = client.get(
        reverse("conferences:participant-step", args=[conference.pk, alice.call_sid, "coach"]),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert f'<option value="{bob.call_sid}">' in step
    assert "<html" not in step

    act(client, conference, alice.call_sid, action="coach", call_sid_to_coach=bob.call_sid)
    assert updates_to(sandbox, alice.call_sid)[-1]["params"]["CallSidToCoach"] == [bob.call_sid]
    coaching = wait_for(lambda: entry_of(operator, conference, alice.call_sid).coaching_whom)
    assert coaching == bob.to_number
    assert f"Coaching {bob.to_number}" in roster_html(client, conference)

    act(client, conference, alice.call_sid, action="stop-coaching")
    wait_for(lambda: not entry_of(operator, conference, alice.call_sid).coaching)


def test_exit_settings_change_at_twilio_and_show_on_the_roster(two_in_standup, operator, sandbox):
    conference, alice, _ = two_in_standup
    client = client_for(operator)
    act(client, conference, alice.call_sid, action="modify", end_conference_on_exit="true")
    wait_for(lambda: entry_of(operator, conference, alice.call_sid).end_conference_on_exit)
    assert "Ends the conference" in roster_html(client, conference)

    act(client, conference, alice.call_sid, action="modify", beep_on_exit="false")
    assert updates_to(sandbox, alice.call_sid)[-1]["params"]["BeepOnExit"] == ["false"]
    assert entry_of(operator, conference, alice.call_sid).beep_on_exit is False
    modify = AuditEntry.objects.filter(dial=alice, action=AuditAction.MODIFY).order_by("at")
    assert [e.detail["change"] for e in modify] == [
        {"end_conference_on_exit": True},
        {"beep_on_exit": False},
    ]


def test_removing_asks_first_then_hangs_up_and_marks_them_removed(two_in_standup, operator):
    conference, alice, _ = two_in_standup
    client = client_for(operator)
    confirm = client.get(
        reverse("conferences:participant-step", args=[conference.pk, alice.call_sid, "remove"]),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Yes, remove" in confirm
    assert refreshed(alice).status == DialStatus.IN_PROGRESS  # asking removed nobody

    response = act(client, conference, alice.call_sid, action="remove")
    assert "Removing" in response.content.decode()
    wait_for(lambda: entry_of(operator, conference, alice.call_sid).stage == Stage.ENDED)
    ended = entry_of(operator, conference, alice.call_sid).ended
    assert ended is not None and ended.state == Attendance.REMOVED
    assert refreshed(alice).end_reason == "participant_updated_via_api"
    assert AuditEntry.objects.get(dial=alice, action=AuditAction.REMOVE).outcome == "ok"


def test_a_participant_already_gone_is_reported_in_words_and_the_roster_stays_true(
    workers, operator
):
    fast_account()
    joined(operator, STAYS, "retro")
    # Hangs up after 3 call seconds (60 ms at the sandbox's speed): its "in the conference"
    # may be over before anyone looks, so wait for the end of a call that did join.
    short = dial(operator, "+15005551003", conference="retro")
    conference = started("retro")
    wait_for(
        lambda: refreshed(short).status == DialStatus.COMPLETED and short.joined_at is not None
    )

    response = act(client_for(operator), conference, short.call_sid, action="mute")
    text = response.content.decode()
    assert response.status_code == 200
    assert "is no longer in the conference (Twilio error 20404)" in text
    entry = entry_of(operator, conference, short.call_sid)
    assert entry.stage == Stage.ENDED and not entry.muted
    failed = AuditEntry.objects.get(dial=short, action=AuditAction.MUTE)
    assert (failed.outcome, failed.detail["error_code"]) == ("failed", 20404)


def test_too_many_requests_at_once_are_refused_in_words_and_change_nothing(
    two_in_standup, operator, sandbox
):
    conference, alice, bob = two_in_standup
    sandbox.set_faults(Faults.from_json({"max_concurrent_requests": 1, "latency_ms": 600}))
    results: dict[str, live_actions.ActionResult] = {}
    together = threading.Barrier(2)

    def press(name: str, call_sid: str) -> None:
        together.wait()
        command = live_actions.ParticipantCommand(action="mute")
        results[name] = live_actions.act_on_participant(
            user=operator, conference=conference, call_sid=call_sid, command=command
        )

    threads = [
        threading.Thread(target=press, args=("alice", alice.call_sid)),
        threading.Thread(target=press, args=("bob", bob.call_sid)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    refused = [r for r in results.values() if not r.ok]
    assert len(refused) == 1, [r.message for r in results.values()]
    assert "too many requests" in refused[0].message
    assert "(Twilio error 20429)" in refused[0].message
    sandbox.set_faults(Faults())
    wait_for(lambda: len([e for e in roster_of(operator, conference).now if e.muted]) == 1)


def test_invalid_call_state_and_unknown_errors_read_as_words():
    from conferences.gateway.errors import GatewayError

    invalid = GatewayError("Call is not in-progress", code=21220, status=400, retryable=False)
    assert live_actions.explain(invalid, "Alice") == (
        "the call is not in a state that allows this (it may be ending, or not answered yet)"
        " (Twilio error 21220)"
    )
    timeout = GatewayError("no answer", retryable=True, outcome_unknown=True)
    assert "the roster shows whether it happened" in live_actions.explain(timeout, "Alice")


def test_announcements_and_ending_reach_everyone_and_every_calls_timeline(
    two_in_standup, operator, supervisor, sandbox
):
    conference, alice, bob = two_in_standup
    client = client_for(operator)
    announce_url = reverse("conferences:conference-announce", args=[conference.pk])
    played = client.post(
        announce_url,
        {"url": "https://example.com/welcome.mp3", "method": "GET"},
        HTTP_HX_REQUEST="true",
    )
    assert "Announcement sent" in played.content.decode()
    path = f"/Conferences/{conference.sid}.json"
    sent = [e for e in sandbox.requests() if e["path"].endswith(path)]
    assert sent[-1]["params"]["AnnounceUrl"] == ["https://example.com/welcome.mp3"]

    end_url = reverse("conferences:conference-end", args=[conference.pk])
    assert client.post(end_url, HTTP_HX_REQUEST="true").status_code == 403  # operators may not
    boss = client_for(supervisor)
    assert "Yes, end it for everyone" in boss.get(end_url, HTTP_HX_REQUEST="true").content.decode()
    ended = boss.post(end_url, HTTP_HX_REQUEST="true")
    assert "Ending the conference for everyone" in ended.content.decode()
    completed = ConferenceStatus.COMPLETED
    wait_for(lambda: roster_of(supervisor, conference).conference.status == completed)

    final = roster_of(supervisor, conference)
    assert not final.live and final.now == []
    assert final.ended_by == "sam ended it from this page"
    assert final.ended_why == "Ended from the app or the API"
    roster_url = reverse("conferences:conference-roster", args=[conference.pk])
    assert boss.get(roster_url, HTTP_HX_REQUEST="true").status_code == 286  # polling stops
    for caller in (alice, bob):
        actions = list(AuditEntry.objects.filter(dial=caller).values_list("action", "outcome"))
        assert (AuditAction.ANNOUNCE, "ok") in actions
        assert (AuditAction.END_CONFERENCE, "ok") in actions
        assert refreshed(caller).end_reason == "conference_ended_via_api"
