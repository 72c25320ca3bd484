"""Twilio's own participant list, for conferences whose callbacks go elsewhere.

Everyone watching such a conference polls every 2 s: Twilio is asked once a second for
all of them, and an action forgets the cached list so the next look shows its effect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache

from conferences.accounts import twilio_accounts
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.live.access import live_timeout
from conferences.models import Conference, ConferenceStatus

logger = logging.getLogger(__name__)

TWILIO_ROSTER_CACHE_SECONDS = 1


@dataclass(frozen=True)
class PolledRoster:
    """Twilio's participants by call SID (None: not asked or not answered)."""

    participants: dict[str, gateway_types.LiveParticipant] | None
    ended: bool = False
    error: str = ""


def _cache_key(conference: Conference) -> str:
    return f"live:twilio-roster:{conference.account_id}:{conference.sid}"


def forget_twilio_roster(conference: Conference) -> None:
    """After an action, the next roster shows Twilio's answer, not the list from before."""
    cache.delete(_cache_key(conference))


def poll(conference: Conference) -> PolledRoster:
    """Twilio's participant list now, and whether the conference still runs."""
    if not conference.sid:
        return PolledRoster(None)
    key = _cache_key(conference)
    cached = cache.get(key)
    if cached is not None:
        found, participants = cached
    else:
        creds = twilio_accounts.credentials(conference.account)
        try:
            found = gateway.fetch_conference(creds, conference.sid, timeout=live_timeout())
            participants = gateway.list_participants(creds, conference.sid, timeout=live_timeout())
        except errors.GatewayError as error:
            logger.warning("roster of %s not polled: %s", conference.pk, error.message)
            return PolledRoster(
                None, error=f"Could not ask Twilio for the participant list: {error.message}"
            )
        cache.set(key, (found, participants), TWILIO_ROSTER_CACHE_SECONDS)
    ended = found is not None and found.status == ConferenceStatus.COMPLETED
    return PolledRoster({p.call_sid: p for p in participants}, ended=ended)
