"""Typed readers for settings that come from the environment.

Every reader fails loudly with ImproperlyConfigured naming the variable, so a typo
in a deployment stops the process at start instead of surfacing as odd behaviour.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def env_int(
    name: str,
    default: int,
    environ: Mapping[str, str] = os.environ,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value}")
    return value


def env_float(
    name: str, default: float, environ: Mapping[str, str] = os.environ, *, minimum: float = 0.0
) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, environ: Mapping[str, str] = os.environ) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks, each normalised
    (10.0.0.7 becomes 10.0.0.7/32); an entry that is neither stops the process."""
    networks = []
    for entry in env_list(name, [], environ):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or CIDR networks, not {entry!r}"
            ) from None
    return networks


def env_choice(
    name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] = os.environ
) -> str:
    value = environ.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_url(
    name: str,
    default: str,
    environ: Mapping[str, str] = os.environ,
    *,
    schemes: tuple[str, ...] = ("http", "https"),
) -> str:
    """An absolute URL without a trailing slash; '' when unset and the default is ''."""
    value = environ.get(name, default).strip()
    if value == "":
        return ""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be an absolute URL starting with {' or '.join(schemes)}://, not {value!r}"
        )
    try:
        parts.port  # noqa: B018 -- evaluating it validates the port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {value!r}") from None
    return value.rstrip("/")


def env_sid(name: str, default: str, prefix: str, environ: Mapping[str, str] = os.environ) -> str:
    """A Twilio SID such as AC + 32 hex digits; empty counts as unset."""
    value = (environ.get(name) or default).strip()
    if value and not _is_sid(value, prefix):
        raise ImproperlyConfigured(
            f"{name} must be a Twilio SID: {prefix} followed by 32 hexadecimal digits"
        )
    return value


def _is_sid(value: str, prefix: str) -> bool:
    body = value[len(prefix) :]
    return (
        value.startswith(prefix)
        and len(body) == 32
        and all(c in "0123456789abcdefABCDEF" for c in body)
    )


def database_from_url(url: str, *, name: str = "DATABASE_URL", base_dir: Path) -> dict[str, Any]:
    """Translate a DATABASE_URL into a Django DATABASES entry.

    Accepts postgres://, postgresql://, postgresql+psycopg:// and sqlite:///path
    (relative to the project) or sqlite:////absolute/path.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    options = dict(parse_qsl(parts.query))
    if scheme in ("postgres", "postgresql", "pgsql"):
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise ImproperlyConfigured(f"{name} names no database: {_redact_url(url)!r}")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} has an invalid port: {_redact_url(url)!r}"
            ) from None
        conn_max_age = options.pop("conn_max_age", "60")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": int(conn_max_age),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    if scheme == "sqlite":
        raw_path = unquote(parts.path)
        if raw_path in ("", "/"):
            raise ImproperlyConfigured(f"{name} names no SQLite file: {url!r}")
        # sqlite:///var/db.sqlite3 is relative to the project; sqlite:////abs/db is absolute.
        path = raw_path[1:] if raw_path.startswith("/") else raw_path
        db_path = Path(path) if path.startswith("/") else base_dir / path
        if path == ":memory:":
            db_path = Path(":memory:")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(db_path),
            # A web server and a worker write at once: WAL lets readers continue, IMMEDIATE
            # takes the write lock at BEGIN (no upgrade deadlocks), and the busy timeout waits
            # for the other writer instead of failing with "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
                ),
            },
        }
    raise ImproperlyConfigured(
        f"{name} must start with postgres://, postgresql:// or sqlite:///, not {_redact_url(url)!r}"
    )


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def secret_key_from(environ: Mapping[str, str], key_file: Path) -> str:
    """SECRET_KEY from the environment, else from a file under var/ made on first run."""
    value = environ.get("SECRET_KEY", "").strip()
    if value:
        if len(value) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return value
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(50)
    try:
        # 0600: readable by this user only. O_EXCL: when web and worker start together,
        # exactly one writes the key and the other reads it.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(key_file)
    with os.fdopen(fd, "w") as handle:
        handle.write(generated)
    return generated


def _read_when_written(key_file: Path) -> str:
    for _ in range(100):
        value = key_file.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise ImproperlyConfigured(f"{key_file} is empty: delete it or set SECRET_KEY")
