"""What the API told reconciliation, written as the callbacks that should have brought it.

Each fact becomes a CallbackEvent of kind `reconciled`, in the words of the callback it stands
in for (callback_applier.RECONCILED_AS), applied by callback_applier.apply_event: the very
same forward-only rules. One dedupe key per fact learned, so asking again writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from conferences.callbacks import applier as callback_applier
from conferences.callbacks import meaning as callback_meaning
from conferences.gateway import types as gateway_types
from conferences.models import (
    DIAL_STATUS_RANK,
    FINAL_DIAL_STATUSES,
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
)

logger = logging.getLogger(__name__)


class Trigger:
    AUTOMATIC = "automatic"
    ON_REQUEST = "on request"


@dataclass(frozen=True)
class Fact:
    """One thing the API told us, as the callback that should have brought it."""

    as_kind: str  # CallbackKind.CALL_STATUS or CallbackKind.CONFERENCE
    event: str  # CallStatus or StatusCallbackEvent
    moment: datetime | None
    params: dict[str, str]

    def dedupe_key(self, subject_sid: str) -> str:
        return f"reconciled:{self.as_kind}:{subject_sid}:{self.event}"


def _rfc2822(moment: datetime | None) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True) if moment else ""


def call_facts(
    dial: DialRequest, call: gateway_types.CallDetails, *, trigger: str = Trigger.AUTOMATIC
) -> list[Fact]:
    """What the Call resource says that our record lacks, oldest fact first."""
    meaning = callback_meaning.CALL_STATUSES.get(call.status)
    if meaning is None:
        return []  # a status this app does not know: leave it to a human
    ours = DIAL_STATUS_RANK[dial.status]
    theirs = DIAL_STATUS_RANK[meaning.dial_status]

    def fact(status: str, moment: datetime | None, **extra: str) -> Fact:
        params = {
            callback_applier.RECONCILED_AS: CallbackKind.CALL_STATUS,
            "AccountSid": dial.account.account_sid,
            "CallSid": call.sid,
            "CallStatus": status,
            "Timestamp": _rfc2822(moment),
            "ReconciledFrom": f"Calls/{call.sid}",
            "ReconciledBy": trigger,
            **{name: value for name, value in extra.items() if value},
        }
        return Fact(CallbackKind.CALL_STATUS, status, moment, params)

    facts: list[Fact] = []
    # Only an answered participant call ends "completed" (the others end busy, no-answer…).
    answered = call.status in ("in-progress", "completed")
    if answered and dial.answered_at is None and ours <= DIAL_STATUS_RANK[DialStatus.IN_PROGRESS]:
        # start_time is at or before the answer, so a late in-progress callback (whose
        # Timestamp is the answer) never moves answered_at: the earliest time wins.
        facts.append(
            fact("in-progress", call.start_time or call.date_updated, AnsweredBy=call.answered_by)
        )
    if theirs > ours and meaning.dial_status != DialStatus.IN_PROGRESS:
        final = meaning.dial_status in (
            DialStatus.COMPLETED,
            DialStatus.BUSY,
            DialStatus.NO_ANSWER,
            DialStatus.CANCELED,
            DialStatus.FAILED,
        )
        duration = str(call.duration_seconds) if call.duration_seconds is not None else ""
        facts.append(
            fact(
                call.status,
                (call.end_time if final else None) or call.date_updated,
                CallDuration=duration if final else "",
                AnsweredBy=call.answered_by,
            )
        )
    return facts


def leave_fact(
    dial: DialRequest, call: gateway_types.CallDetails, *, trigger: str = Trigger.AUTOMATIC
) -> Fact | None:
    """A participant-leave for a dial that joined and whose call has ended without one: a
    participant leaves its conference when its call ends, at the call's end time."""
    meaning = callback_meaning.CALL_STATUSES.get(call.status)
    ended = meaning is not None and meaning.dial_status in FINAL_DIAL_STATUSES
    if not ended or dial.joined_at is None or dial.left_at is not None:
        return None
    if not dial.conference.sid:
        return None  # the applier changes a conference's rows only by its SID
    moment = call.end_time or call.date_updated
    params = {
        callback_applier.RECONCILED_AS: CallbackKind.CONFERENCE,
        "AccountSid": dial.account.account_sid,
        "ConferenceSid": dial.conference.sid,
        "CallSid": call.sid,
        "ParticipantLabel": dial.label,
        "StatusCallbackEvent": "participant-leave",
        "ParticipantCallStatus": call.status,
        "Timestamp": _rfc2822(moment),
        "ReconciledFrom": f"Calls/{call.sid}",
        "ReconciledBy": trigger,
    }
    return Fact(CallbackKind.CONFERENCE, "participant-leave", moment, params)


def conference_facts(
    conference: Conference,
    details: gateway_types.ConferenceDetails,
    *,
    trigger: str = Trigger.AUTOMATIC,
) -> list[Fact]:
    """What the Conference resource says that our record lacks."""
    rank = callback_meaning.CONFERENCE_STATUS_RANK
    if details.status not in rank or rank[details.status] <= rank[conference.status]:
        return []

    def fact(event: str, moment: datetime | None, **extra: str) -> Fact:
        params = {
            callback_applier.RECONCILED_AS: CallbackKind.CONFERENCE,
            "AccountSid": conference.account.account_sid,
            "ConferenceSid": details.sid,
            "StatusCallbackEvent": event,
            "Timestamp": _rfc2822(moment),
            "ReconciledFrom": f"Conferences/{details.sid}",
            "ReconciledBy": trigger,
            **{name: value for name, value in extra.items() if value},
        }
        return Fact(CallbackKind.CONFERENCE, event, moment, params)

    if details.status == ConferenceStatus.IN_PROGRESS:
        return [fact("conference-start", details.date_created)]
    # Completed. Twilio keeps no end time; the resource's last update is its end.
    return [
        fact(
            "conference-end",
            details.date_updated,
            ReasonConferenceEnded=details.reason_ended,
            CallSidEndingConference=details.call_sid_ending,
        )
    ]


# --- Writing what was learned ---------------------------------------------------------


def record_fact(
    fact: Fact, *, subject_sid: str, dial: DialRequest | None, conference: Conference
) -> bool:
    """Store the fact as a reconciled event and apply it; False when it was learned before."""
    now = timezone.now()
    event = CallbackEvent(
        kind=CallbackKind.RECONCILED,
        dial=dial,
        conference=conference,
        account_sid=fact.params["AccountSid"],
        call_sid=fact.params.get("CallSid", ""),
        conference_sid=fact.params.get("ConferenceSid", conference.sid or ""),
        event=fact.event,
        twilio_timestamp=fact.moment,
        received_at=now,
        params=fact.params,
        dedupe_key=fact.dedupe_key(subject_sid),
        applied_at=now,
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            return False
        callback_applier.apply_event(event)
    logger.info(
        "reconciled %s %s from the API: %s",
        "dial" if dial else "conference",
        dial.pk if dial else conference.pk,
        fact.event,
    )
    return True
