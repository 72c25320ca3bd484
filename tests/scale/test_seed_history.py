"""`seed_history` makes believable history quickly and is safe to run twice (issue 10)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count

from conferences.history import seeding
from conferences.models import CallbackEvent, DialRequest

pytestmark = pytest.mark.django_db


def test_seeding_twice_with_the_same_count_adds_nothing_and_a_larger_count_tops_up() -> None:
    call_command("seed_history", "--dials", "1200", "--operators", "4")
    first_events = CallbackEvent.objects.count()
    call_command("seed_history", "--dials", "1200", "--operators", "4")

    assert DialRequest.objects.count() == 1200
    assert CallbackEvent.objects.count() == first_events

    report = seeding.seed_history(1500, operators=4)

    assert (report.existing, report.added) == (1200, 300)
    assert DialRequest.objects.count() == 1500
    assert DialRequest.objects.values("label").distinct().count() == 1500


def test_seeded_dials_have_believable_outcomes_and_four_to_eight_callbacks() -> None:
    seeding.seed_history(4000, operators=6)

    statuses = Counter(DialRequest.objects.values_list("status", flat=True))
    assert 0.5 < statuses["completed"] / 4000 < 0.7
    assert {"no-answer", "busy", "failed", "canceled"} <= set(statuses)
    assert not DialRequest.objects.filter(status="failed", error_code__isnull=True).exists()
    assert DialRequest.objects.exclude(recording_sid="").exists()
    assert DialRequest.objects.exclude(answered_by="").exists()
    per_dial = (
        CallbackEvent.objects.values("dial").annotate(n=Count("pk")).values_list("n", flat=True)
    )
    assert len(per_dial) == 4000
    assert min(per_dial) >= 4
    assert max(per_dial) <= 8
    assert DialRequest.objects.values("operator").distinct().count() == 6
