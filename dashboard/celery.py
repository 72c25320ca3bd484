"""The Celery app, configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

from conferences.core.task_queue import TASK_PACKAGES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(TASK_PACKAGES)
