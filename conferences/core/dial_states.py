"""A dial's statuses and the one order they may move in: the forward-only rule's data.

Pure (no models), so the words for statuses, the applier's SQL and the history replay
all read the same order.
"""

from __future__ import annotations

from django.db import models


class DialStatus(models.TextChoices):
    """A dial's life, in the only order it may move (see DIAL_STATUS_RANK below)."""

    PENDING = "pending", "Waiting for a worker"
    PLACING = "placing", "Placing the call"
    QUEUED = "queued", "Queued at Twilio"
    INITIATED = "initiated", "Dialing"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In the conference"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    CANCELED = "canceled", "Canceled"
    FAILED = "failed", "Failed"


# Forward order of a dial's states; every final state ranks last (first final one wins).
DIAL_STATUS_RANK: dict[str, int] = {
    DialStatus.PENDING: 0,
    DialStatus.PLACING: 1,
    DialStatus.QUEUED: 2,
    DialStatus.INITIATED: 3,
    DialStatus.RINGING: 4,
    DialStatus.IN_PROGRESS: 5,
    DialStatus.COMPLETED: 6,
    DialStatus.BUSY: 6,
    DialStatus.NO_ANSWER: 6,
    DialStatus.CANCELED: 6,
    DialStatus.FAILED: 6,
}


def statuses_before(status: str) -> list[str]:
    """The states a dial may move from to reach `status` (the forward-only rule)."""
    rank = DIAL_STATUS_RANK[status]
    return [name for name, other in DIAL_STATUS_RANK.items() if other < rank]


FINAL_DIAL_STATUSES = frozenset(
    {
        DialStatus.COMPLETED,
        DialStatus.BUSY,
        DialStatus.NO_ANSWER,
        DialStatus.CANCELED,
        DialStatus.FAILED,
    }
)


__all__ = ["DIAL_STATUS_RANK", "FINAL_DIAL_STATUSES", "DialStatus", "statuses_before"]
