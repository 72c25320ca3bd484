"""The forward-only rules are written twice on purpose: as SQL in the applier (one UPDATE
per event, safe under concurrency) and as the pure replay the call timeline shows. This
property holds them to one meaning: whatever arrives, in whatever order, duplicated or
missing, the replay ends exactly where the database row ended."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conferences.callbacks.replay import ParticipantState
from conferences.history import story as dial_stories
from conferences.models import DialRequest
from tests.support.callbacks import TwilioSender, make_dial

pytestmark = pytest.mark.django_db

EVENTS = [
    "call-status-initiated",
    "call-status-ringing",
    "call-status-in-progress",
    "call-status-busy",
    "call-status-completed",
    "conference-start",
    "participant-join",
    "participant-mute",
    "participant-unmute",
    "participant-hold",
    "participant-unhold",
    "participant-leave",
    "recording-in-progress",
    "recording-completed",
    "amd-human",
    "conference-end",
]
# Every state the replay tracks that the dial row stores.
COMPARED = [
    name
    for name in (f.name for f in dataclasses.fields(ParticipantState))
    if name in {f.name for f in DialRequest._meta.get_fields()}
]


def test_the_comparison_covers_the_forward_only_fields():
    assert {"status", "answered_at", "left_at", "end_reason", "muted", "hold"} <= set(COMPARED)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(arrivals=st.lists(st.sampled_from(EVENTS), min_size=1, max_size=14))
def test_any_arrival_order_replays_to_the_row_the_applier_wrote(
    client, operator, supervisor, arrivals
):
    dial = make_dial(operator)
    sender = TwilioSender(client)
    for name in arrivals:
        assert sender.fixture(dial, name).status_code in (200, 204), name
    dial.refresh_from_db()
    final = dial_stories.dial_story(supervisor, dial.pk).final_state
    assert {name: getattr(final, name) for name in COMPARED} == {
        name: getattr(dial, name) for name in COMPARED
    }, arrivals
