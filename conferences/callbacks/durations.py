"""Durations derived from applied callbacks: time to answer and time in conference."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import DurationField, ExpressionWrapper, F

from conferences.models import (
    DialRequest,
)

# --- Durations for pages --------------------------------------------------------------


def time_to_answer(dial: DialRequest) -> timedelta | None:
    """From the operator's request to the caller answering."""
    if dial.answered_at is None:
        return None
    return dial.answered_at - dial.created_at


def time_in_conference(dial: DialRequest) -> timedelta | None:
    if dial.joined_at is None or dial.left_at is None:
        return None
    return dial.left_at - dial.joined_at


# Annotations for list pages, e.g. DialRequest.objects.annotate(**DURATION_ANNOTATIONS).
DURATION_ANNOTATIONS: dict[str, Any] = {
    "time_to_answer": ExpressionWrapper(
        F("answered_at") - F("created_at"), output_field=DurationField()
    ),
    "time_in_conference": ExpressionWrapper(
        F("left_at") - F("joined_at"), output_field=DurationField()
    ),
}
