"""Dials with known facts, written straight to the database (the pipeline is not under test)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.models import Conference, DialRequest, DialStatus, User

_labels = itertools.count(1)


def conference(name: str, operator: User | None = None) -> Conference:
    found = Conference.objects.filter(friendly_name=name).first()
    return found or Conference.objects.create(
        account=twilio_accounts.default_account(), friendly_name=name, created_by=operator
    )


def make_dial(
    operator: User,
    *,
    conference_name: str = "standup",
    created_at: datetime | None = None,
    status: str = DialStatus.COMPLETED,
    to: str = "+14155550142",
    from_: str = "+15005550006",
    label: str = "",
    answered_after: float | None = None,
    in_conference_for: float | None = None,
    **fields: Any,
) -> DialRequest:
    """A dial as the pipeline and callbacks would have left it.

    `answered_after` / `in_conference_for` are seconds: they set answered_at, joined_at and
    left_at relative to created_at.
    """
    created_at = created_at or timezone.now()
    if answered_after is not None:
        fields.setdefault("answered_at", created_at + timedelta(seconds=answered_after))
    if in_conference_for is not None:
        joined = fields.get("answered_at") or created_at + timedelta(seconds=1)
        fields.setdefault("joined_at", joined)
        fields.setdefault("left_at", joined + timedelta(seconds=in_conference_for))
    return DialRequest.objects.create(
        account=twilio_accounts.default_account(),
        conference=conference(conference_name, operator),
        operator=operator,
        created_at=created_at,
        status=status,
        to_number=to,
        from_number=from_,
        label=label or f"caller-{next(_labels)}",
        **fields,
    )


def row_ids(html: str) -> list[int]:
    """Dial ids of the list's rows, in page order."""
    import re

    return [int(found) for found in re.findall(r'<tr id="dial-(\d+)"', html)]
