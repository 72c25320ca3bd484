"""The database the app needs: PostgreSQL.

Its transaction-level advisory locks (a conference's name while it is chosen, an API
idempotency key, a lane of callbacks being applied) and `SKIP LOCKED` have no SQLite
equivalent: on another engine the first dial would answer 500. So another engine is
refused by a system check, which every `manage.py` command runs (`make run` migrates
first), before anything is served."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

POSTGRESQL_ENGINE = "django.db.backends.postgresql"


@register()
def postgresql_required(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """An error unless the default database is PostgreSQL."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine == POSTGRESQL_ENGINE:
        return []
    return [
        Error(
            f"DATABASE_URL names {engine.rsplit('.', 1)[-1]}; the app needs PostgreSQL "
            "(advisory locks and SKIP LOCKED).",
            hint="Set DATABASE_URL=postgres://user:pass@host:5432/name "
            "(make run uses postgres://postgres@127.0.0.1:5432/dashboard_dev).",
            id="conferences.E001",
        )
    ]
