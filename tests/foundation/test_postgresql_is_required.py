"""The app's locks need PostgreSQL: another engine is refused at start, not at the first
dial (`make run` once served a 500 on SQLite when a dial took the conference-name lock)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import SystemCheckError

from conferences.core.database_checks import postgresql_required


def _with_engine(settings: Any, engine: str) -> None:
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "ENGINE": engine},
    }


def test_sqlite_is_refused_by_a_system_check_naming_the_way_out(settings):
    _with_engine(settings, "django.db.backends.sqlite3")
    [error] = postgresql_required(None)
    assert error.id == "conferences.E001"
    assert "sqlite3" in error.msg and "PostgreSQL" in error.msg
    assert "DATABASE_URL=postgres://" in (error.hint or "")


def test_every_management_command_stops_on_it_before_doing_anything(settings):
    _with_engine(settings, "django.db.backends.sqlite3")
    try:
        call_command("check")
    except SystemCheckError as error:
        assert "conferences.E001" in str(error)
    else:
        raise AssertionError("the check let SQLite through")


def test_postgresql_passes(settings):
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert postgresql_required(None) == []
