"""Celery tasks by their pinned names: the one list of them, and the one way to enqueue.

Task names are pinned to the modules the tasks first lived in, so the beat schedule, the
routing and messages already queued keep working wherever a task's code lives now.

Services enqueue through `task()` instead of importing a `tasks` module: a tasks module
imports the services it runs, so the other direction would be an import cycle. Every
area's tasks module is imported when Django starts (see `ConferencesConfig.ready`), so the
registry below always knows every name, in the web process as in a worker.
"""

from __future__ import annotations

from typing import Any

from celery import Task, current_app

PLACE_DIAL = "conferences.tasks.place_dial"
SWEEP_DIALS = "conferences.tasks.sweep_dials"
APPLY_CALLBACKS = "conferences.tasks.apply_callbacks"
RELAY_CALLBACK = "conferences.relay.relay_callback"
RESEND_PENDING_RELAYS = "conferences.relay.resend_pending_relays"
SWEEP_LIVE_CONFERENCES = "conferences.live_tasks.sweep_live_conferences"
RECONCILE_STALE = "conferences.ops_tasks.reconcile_stale"
PURGE_PERSONAL_DATA = "conferences.ops_tasks.purge_personal_data"
DIAL_DUE_EVENTS = "conferences.events_tasks.dial_due_events"
FORGET_EXPIRED_IDEMPOTENCY_KEYS = "conferences.api_tasks.forget_expired_idempotency_keys"

# The areas that have a `tasks` module (Celery's autodiscovery and the app's ready()).
TASK_PACKAGES = [
    "conferences.dialing",
    "conferences.callbacks",
    "conferences.live",
    "conferences.operations",
    "conferences.events",
    "conferences.api",
]


def task(name: str) -> Task[Any, Any]:
    """The registered task of that name (KeyError for a name no tasks module defines)."""
    return current_app.tasks[name]
