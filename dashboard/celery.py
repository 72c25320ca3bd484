"""The Celery app, configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task, signals
from django import db

from conferences.core import crypto
from conferences.core.task_queue import TASK_PACKAGES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(TASK_PACKAGES)


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_database_connections(sender: Task, **_: Any) -> None:
    """Around each task, as Django does around each request: a connection older than
    CONN_MAX_AGE, or left unusable by an error, is closed; with CONN_HEALTH_CHECKS one the
    server dropped meanwhile is found before the task uses it. Tasks run eagerly (inside a
    caller's transaction) are left alone, as Celery's own fixup leaves them."""
    if not getattr(sender.request, "is_eager", False):
        db.close_old_connections()


@signals.worker_init.connect
def warm_up_before_forking(**_: Any) -> None:
    """Done once in the worker's parent, before it forks the pool, what each pool process
    would otherwise do on its first task: OpenSSL's first HMAC and cipher (reading the
    stored account token), about a tenth of a second of CPU per process, paid by the first
    dials after every start."""
    crypto.decrypt(crypto.encrypt("warm-up"))
