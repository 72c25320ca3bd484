"""The beat schedule names tasks by text; a name no tasks module registers never runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from conferences.core import task_queue


def test_every_scheduled_task_is_a_registered_task_and_expires_before_it_piles_up() -> None:
    registered = {
        value
        for name, value in vars(task_queue).items()
        if name.isupper() and isinstance(value, str)
    }
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for entry_name, entry in schedule.items():
        assert entry["task"] in registered, entry_name
        assert task_queue.task(entry["task"]).name == entry["task"], entry_name
        assert entry["options"]["expires"] > 0, entry_name
