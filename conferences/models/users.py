"""Users and the time zone each one sees the product in."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from conferences.accounts import roles


def _default_time_zone() -> str:
    return str(settings.TIME_ZONE)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class User(AbstractUser):
    """A person who signs in; their role is their group (operator or supervisor)."""

    time_zone = models.CharField(
        max_length=64,
        default=_default_time_zone,
        validators=[validate_time_zone],
        help_text="Times are shown in this zone, e.g. Europe/Berlin.",
    )

    @property
    def role(self) -> str | None:
        return roles.role_of(self)
