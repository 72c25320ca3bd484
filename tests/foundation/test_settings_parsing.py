from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import database_from_url, env_bool, env_int, env_url

BASE = Path(__file__).resolve().parents[2]


def test_postgres_url_becomes_a_postgresql_database_entry():
    db = database_from_url("postgres://app:s%40cret@db.internal:6543/calls", base_dir=BASE)
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "calls",
        "app",
        "s@cret",
        "db.internal",
        "6543",
    )


def test_postgresql_scheme_with_driver_suffix_and_options_is_accepted():
    db = database_from_url(
        "postgresql+psycopg://postgres@127.0.0.1/x?sslmode=require", base_dir=BASE
    )
    assert db["NAME"] == "x"
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_relative_sqlite_url_lives_under_the_project_and_is_set_up_for_concurrent_writers():
    db = database_from_url("sqlite:///var/db.sqlite3", base_dir=BASE)
    assert db["NAME"] == str(BASE / "var/db.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert "busy_timeout" in db["OPTIONS"]["init_command"]


def test_absolute_sqlite_url_keeps_its_path():
    assert database_from_url("sqlite:////tmp/x.db", base_dir=BASE)["NAME"] == "/tmp/x.db"


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "postgres://host/", "nonsense"])
def test_unusable_database_url_fails_naming_the_variable(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url, base_dir=BASE)


def test_password_in_a_rejected_url_is_not_echoed():
    with pytest.raises(ImproperlyConfigured) as error:
        database_from_url("mysql://root:hunter2hunter2@localhost/x", base_dir=BASE)
    assert "hunter2hunter2" not in str(error.value)


def test_booleans_ints_and_urls_reject_bad_values_by_name():
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})
    with pytest.raises(ImproperlyConfigured, match="TWILIO_CPS"):
        env_int("TWILIO_CPS", 1, {"TWILIO_CPS": "fast"})
    with pytest.raises(ImproperlyConfigured, match="PUBLIC_BASE_URL"):
        env_url("PUBLIC_BASE_URL", "", {"PUBLIC_BASE_URL": "example.com/hooks"})
    assert env_bool("DEBUG", False, {"DEBUG": "Yes"}) is True
    assert (
        env_url("PUBLIC_BASE_URL", "", {"PUBLIC_BASE_URL": "https://x.test/"}) == "https://x.test"
    )


def test_defaults_work_without_any_environment():
    assert settings.PUBLIC_BASE_URL.startswith("http")
    assert settings.TIME_ZONE
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > (
        2 * (settings.CELERY_TASK_TIME_LIMIT + settings.DIAL_RETRY_MAX_SECONDS)
    )


def _start_django(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"DJANGO_SETTINGS_MODULE": "dashboard.settings", **extra_env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "perhaps"),
        ("DATABASE_URL", "mongodb://x/y"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("TWILIO_ACCOUNT_SID", "not-a-sid"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_a_bad_value_stops_the_process_at_start_naming_the_variable(variable, value):
    result = _start_django({variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_real_account_without_a_token_is_refused_at_start():
    result = _start_django({"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": ""})
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN" in result.stderr


def test_parallel_test_processes_get_their_own_redis_database_and_queue():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    assert not settings.REDIS_URL.endswith("/0")
    assert settings.CELERY_TASK_DEFAULT_QUEUE == f"test-{worker or 'main'}"
