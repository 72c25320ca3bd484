"""The exactly-once checks: is there already a call for this dial at Twilio? And is what
Twilio answered to a create about the call asked for?

After any attempt whose outcome is unknown the checks run, in this order, before any new
create:
  1. a callback already arrived for this dial id;
  2. the conference (the one we know, and any open one of its name: a create by name
     reopens an ended conference) has a participant with this Label;
  3. the Calls list has a call to this number, from this caller ID, created since the
     first attempt, in any state (no start-time bound: a call still queued or ringing has
     no start time yet).
"Nothing found" is trusted only when every check could have seen such a call; when they
cannot tell (several calls that could be this dial's, a list longer than one page) they
say so (ChecksInconclusive) and the dial waits and checks again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from conferences.accounts import twilio_accounts
from conferences.core.sids import CALL_SID, CONFERENCE_SID
from conferences.dialing.claims import Claim, ClaimLost
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.models import (
    KINDS_NAMING_THEIR_DIAL,
    CallbackEvent,
    Conference,
    DialRequest,
    DialStatus,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExistingCall:
    check: str
    call_sid: str
    conference_sid: str = ""


class ChecksInconclusive(Exception):
    """The checks found no call they could call this dial's, but could not have seen every
    call that may be this dial's: "nothing found" is not to be trusted yet."""


# A page of the Calls list; a number with more calls than this since the first attempt
# cannot be checked in one request, and the checks say they cannot tell.
CALLS_LIST_LIMIT = 1000
# Twilio's DateCreated and our first attempt come from different clocks.
CLOCK_SKEW_SECONDS = 5


def find_existing_call(dial: DialRequest, claim: Claim | None = None) -> ExistingCall | None:
    """The three checks, in order; the first that finds the call decides. None: no call
    exists. Raises ChecksInconclusive when they cannot tell, and ClaimLost when `claim`'s
    lease is lost between two of them."""

    def renewed() -> None:
        # Each check may take a request's timeout: the lease must outlive it.
        if claim is not None and not claim.renew():
            raise ClaimLost(dial.pk)

    # A stored callback counts before a worker has applied it (and linked it to the dial):
    # the dial's id in our callback URL names it (the unapplied ones are few and indexed).
    ours = CallbackEvent.objects.filter(
        Q(dial=dial)
        | Q(applied_at__isnull=True, dial_id_in_url=dial.pk, kind__in=KINDS_NAMING_THEIR_DIAL)
    )
    event = ours.exclude(call_sid="").order_by("received_at").first()
    if event is not None or ours.exists():
        return ExistingCall(
            "callback",
            event.call_sid if event else "",
            event.conference_sid if event else "",
        )
    creds = twilio_accounts.credentials(dial.account)
    timeout = settings.TWILIO_HTTP_TIMEOUT_SECONDS
    renewed()
    # The create names the conference by friendly name: if the one we know has ended since,
    # Twilio opened a new one of that name, and the call is there. Look in both.
    conference_sids = list(
        dict.fromkeys(
            ([dial.conference.sid] if dial.conference.sid else [])
            + [
                found.sid
                for found in gateway.find_conferences(
                    creds, friendly_name=dial.conference.friendly_name, timeout=timeout
                )
                if found.status != "completed"
            ]
        )
    )
    for conference_sid in conference_sids:
        renewed()
        participant = gateway.fetch_participant(creds, conference_sid, dial.label, timeout=timeout)
        if participant is not None:
            return ExistingCall("participant-label", participant.call_sid, conference_sid)
    renewed()
    return _call_in_calls_list(dial, creds, timeout)


def _call_in_calls_list(
    dial: DialRequest, creds: gateway_types.AccountCredentials, timeout: float
) -> ExistingCall | None:
    """Check 3: a call to this number from this caller ID created since the first attempt,
    in any state, that no other dial may own."""
    calls = gateway.find_calls(
        creds, to=dial.to_number, from_=dial.from_number, timeout=timeout, limit=CALLS_LIST_LIMIT
    )
    if len(calls) >= CALLS_LIST_LIMIT:
        raise ChecksInconclusive(
            f"the Calls list to this number holds {CALLS_LIST_LIMIT} calls or more"
        )
    since = (dial.first_attempt_at or dial.created_at) - timedelta(seconds=CLOCK_SKEW_SECONDS)
    recent = [c for c in calls if c.date_created is None or c.date_created >= since]
    # Two dials to the same number may be in flight; never adopt another dial's call.
    owned = set(
        DialRequest.objects.filter(call_sid__in=[c.sid for c in recent])
        .exclude(pk=dial.pk)
        .values_list("call_sid", flat=True)
    )
    candidates = [c for c in recent if c.sid not in owned]
    if not candidates:
        return None
    # Another dial to this number whose own create may have made one of these calls: the
    # list cannot say whose is whose (it carries no label), so wait for a callback or the
    # participant to tell them apart rather than adopt a call that may be the other's.
    rivals = (
        DialRequest.objects.filter(
            to_number=dial.to_number, from_number=dial.from_number, call_sid=""
        )
        # In flight now, or waiting to check an unknown outcome; a dial only waiting to
        # retry a refused create made no call.
        .filter(
            Q(status=DialStatus.PLACING) | Q(status=DialStatus.PENDING, needs_verification=True)
        )
        .exclude(pk=dial.pk)
        .count()
    )
    if len(candidates) > 1 or rivals:
        raise ChecksInconclusive(
            f"{len(candidates)} call(s) to this number since the first attempt, and "
            f"{rivals} other dial(s) to it without a call: whose is whose is not known yet"
        )
    return ExistingCall("calls-list", candidates[0].sid)


def answer_mismatch(
    dial: DialRequest,
    placed: gateway_types.PlacedParticipant,
    creds: gateway_types.AccountCredentials,
) -> tuple[str, bool]:
    """Why Twilio's answer to this dial's create is not about the call asked for ("" when it
    is): a well-formed CallSid no other dial holds, this dial's label, a conference of this
    dial's friendly name. And whether the conference was confirmed (one Twilio could not
    be asked about in time is not a mismatch, but its SID is not kept)."""
    if not CALL_SID.fullmatch(placed.call_sid):
        return f"the answer carries no CallSid (got {placed.call_sid!r})", False
    owner = (
        DialRequest.objects.filter(call_sid=placed.call_sid)
        .exclude(pk=dial.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if owner is not None:
        return f"CallSid {placed.call_sid} is already dial #{owner}'s", False
    if placed.label != dial.label:
        return f"the answer's label is {placed.label!r}, not {dial.label!r}", False
    if not CONFERENCE_SID.fullmatch(placed.conference_sid):
        return f"the answer carries no ConferenceSid (got {placed.conference_sid!r})", False
    if placed.conference_sid == dial.conference.sid:
        return "", True
    # Dials into a new conference go out together, each having read it before the first one
    # came back: by now another may have confirmed this SID (an indexed read, where asking
    # Twilio holds the worker for a round trip).
    confirmed = Conference.objects.filter(pk=dial.conference_id).values_list("sid", flat=True)
    if placed.conference_sid == confirmed.first():
        return "", True
    # A conference we have not seen for this name (the first participant, or the old one
    # ended): ask Twilio which conference that SID is.
    try:
        conference = gateway.fetch_conference(
            creds, placed.conference_sid, timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS
        )
    except errors.GatewayError as error:
        logger.warning(
            "dial %s: conference %s not confirmed (%s); its SID is not kept",
            dial.pk,
            placed.conference_sid,
            error.message,
        )
        return "", False
    if conference is None or conference.friendly_name != dial.conference.friendly_name:
        named = conference.friendly_name if conference else "unknown to Twilio"
        return (
            f"conference {placed.conference_sid} is {named!r}, "
            f"not {dial.conference.friendly_name!r}",
            False,
        )
    return "", True
