"""Hourly counters: one row per hour and key, bumped by many processes at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour the moment falls in (the counters' bucket)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def count_in_hour(model: type[models.Model], *, at: datetime | None = None, **key: Any) -> None:
    """Add one to the model's counter for this hour and key (`count` and `last_at`
    columns, unique on the key and `hour`). Update first: the row usually exists, and an
    update takes no lock on a unique index that a racing insert would wait on."""
    now = at or timezone.now()
    rows = model._default_manager.filter(hour=hour_of(now), **key)
    for _ in range(2):  # the second round only when another request created the row first
        if rows.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                model._default_manager.create(hour=hour_of(now), count=1, last_at=now, **key)
            return
        except IntegrityError:
            continue
