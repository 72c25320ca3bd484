"""The environment of a real `celery worker` started by a test: this test's database,
Redis database and queue, the live server's URL and the sandbox; short timeouts."""

from __future__ import annotations

import os
from typing import Any


def celery_worker_env(
    database: dict[str, Any],
    *,
    redis_url: str,
    queue: str,
    public_base_url: str,
    twilio_api_base_url: str,
    **overrides: str,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    host, port = database["HOST"], database["PORT"] or 5432
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        TESTING="false",
        DATABASE_URL=f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}",
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        PUBLIC_BASE_URL=public_base_url,
        TWILIO_API_BASE_URL=twilio_api_base_url,
        # Seconds, not minutes: a test waits for these.
        TWILIO_HTTP_TIMEOUT_SECONDS="2",
        DIAL_RETRY_BASE_SECONDS="0.2",
        DIAL_RETRY_MAX_SECONDS="2",
        DIAL_VERIFY_GRACE_SECONDS="0.5",
        WORKER_HEARTBEAT_SECONDS="0.5",
        CELERY_TASK_SOFT_TIME_LIMIT="20",
        CELERY_TASK_TIME_LIMIT="30",
    )
    env.update(overrides)
    return env
