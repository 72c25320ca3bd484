"""Reads for the dial page: open conferences to pick from and the operator's recent dials."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from conferences.accounts import conference_access, twilio_accounts
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.models import Conference, ConferenceStatus, DialRequest, TwilioAccount, User

logger = logging.getLogger(__name__)

RECENT_DIALS = 10
API_CONFERENCES_CACHE_SECONDS = 30


def open_conference_names(account: TwilioAccount, user: User) -> list[str]:
    """Conferences the user may dial into: open ones they may use, and those only Twilio
    lists (started outside the app), never the name of one another operator runs."""
    open_here = Conference.objects.filter(account=account).exclude(
        status=ConferenceStatus.COMPLETED
    )
    ours = list(
        open_here.filter(pk__in=conference_access.usable_conferences(user).values("pk"))
        .order_by("-created_at")
        .values_list("friendly_name", flat=True)[:50]
    )
    taken = set(open_here.values_list("friendly_name", flat=True)) - set(ours)
    key = f"api-open-conferences:{account.account_sid}"
    listed: list[str] | None = cache.get(key)
    if listed is None:
        try:
            listed = [
                found.friendly_name
                for found in gateway.list_open_conferences(
                    twilio_accounts.credentials(account),
                    timeout=min(3.0, settings.TWILIO_HTTP_TIMEOUT_SECONDS),
                )
            ]
        except errors.GatewayError as error:
            # The page must open even when Twilio is slow: offer ours only, try again later.
            logger.warning("open conferences not listed: %s", error.message)
            listed = []
        cache.set(key, listed, API_CONFERENCES_CACHE_SECONDS)
    return list(dict.fromkeys([*ours, *(name for name in listed if name not in taken)]))


def recent_dials(operator: User) -> QuerySet[DialRequest]:
    return (
        DialRequest.objects.filter(operator=operator)
        .select_related("conference")
        .order_by("-created_at", "-id")[:RECENT_DIALS]
    )
