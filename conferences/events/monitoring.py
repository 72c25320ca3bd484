"""Listen, whisper, barge and leave from the operator's own phone: one call into the
conference (dialed through the pipeline, muted), then updated in place — Coaching and
CallSidToCoach to whisper, Muted=false to barge — and hung up to leave. Never redialed
while it is up; never counted as attendance."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.core.sids import CALL_SID
from conferences.dialing import submission as dial_submission
from conferences.dialing.fields import normalise_phone_number, schema_problems
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.live import access as live_access
from conferences.live import invite_dialing, invite_list, twilio_roster
from conferences.live.access import live_timeout
from conferences.live.actions import LiveActionRefused, explain
from conferences.live.attendance import LIVE_DIAL_STATUSES
from conferences.models import (
    Conference,
    ConferenceStatus,
    DialStatus,
    MonitorMode,
    OperatorLeg,
    OperatorPhone,
    User,
)
from conferences.schema import parameter

logger = logging.getLogger(__name__)

# Label prefix of operator legs: the roster and the summary tell them apart by their row.
LEG_LABEL_PREFIX = "operator-"


@dataclass(frozen=True)
class MonitorResult:
    ok: bool
    message: str
    leg: OperatorLeg | None


def clean_address(raw: str) -> str:
    """A phone number (E.164 after reading it), a sip: or a client: address; ValidationError
    in words otherwise."""
    value = raw.strip()
    if value.startswith(("sip:", "client:")):
        problems = schema_problems(parameter("To"), value)
        if problems:
            raise ValidationError(problems)
        return value
    return normalise_phone_number(value, str(settings.PHONE_DEFAULT_REGION))


def set_own_phone(*, user: User, address: str) -> OperatorPhone:
    """Keep where this user takes monitoring calls (empty: forget it)."""
    if not address.strip():
        OperatorPhone.objects.filter(user=user).delete()
        return OperatorPhone(user=user, address="")
    phone, _ = OperatorPhone.objects.update_or_create(
        user=user, defaults={"address": clean_address(address)}
    )
    return phone


def current_leg(user: User, conference: Conference) -> OperatorLeg | None:
    """This user's leg in the conference while its call is queued, ringing or in."""
    return (
        OperatorLeg.objects.filter(
            conference=conference,
            user=user,
            dial__status__in=[*LIVE_DIAL_STATUSES, DialStatus.PENDING, DialStatus.PLACING],
            dial__left_at__isnull=True,
        )
        .exclude(mode=MonitorMode.LEFT)
        .select_related("dial")
        .order_by("-started_at")
        .first()
    )


def operator_call_sids(conference: Conference) -> set[str]:
    """Call SIDs of operator legs, to leave out of attendance and peaks."""
    return set(
        OperatorLeg.objects.filter(conference=conference)
        .exclude(dial__call_sid="")
        .values_list("dial__call_sid", flat=True)
    )


def _require(user: User, conference: Conference) -> None:
    if not live_access.can_act(user, conference):
        raise PermissionDenied("You may not monitor this conference.")
    if conference.status == ConferenceStatus.COMPLETED:
        raise LiveActionRefused("This conference has ended.")


def _dial_leg(user: User, conference: Conference) -> MonitorResult:
    phone = OperatorPhone.objects.filter(user=user).first()
    if phone is None:
        raise LiveActionRefused("Add your own phone number first (My phone).")
    callers = invite_list.caller_ids(conference)
    if not callers:
        raise LiveActionRefused("No caller ID is configured to dial from.")
    params = {
        "To": phone.address,
        "From": callers[0],
        "Label": f"{LEG_LABEL_PREFIX}{user.pk}-{OperatorLeg.objects.filter(user=user).count() + 1}",
        "Muted": "true",
        "Beep": "false",
        "StartConferenceOnEnter": "false",
        "EndConferenceOnExit": "false",
    }
    with transaction.atomic():
        try:
            dial = dial_submission.submit_dial(
                operator=user,
                submission=dial_submission.DialSubmission(
                    conference.sid or conference.friendly_name, params
                ),
                account=conference.account,
            )
        except dial_submission.ConferenceRefused as refused:
            raise LiveActionRefused(str(refused)) from refused
        leg = OperatorLeg.objects.create(conference=conference, user=user, dial=dial)
        audit.record(
            AuditAction.MONITOR, actor=user, dial=dial, detail={"mode": "listen", "dialed": True}
        )
    return MonitorResult(True, "Calling your phone; it joins muted to listen.", leg)


def _update_leg(
    user: User, leg: OperatorLeg, mode: str, change: gateway_types.ParticipantChange, target: str
) -> MonitorResult:
    conference = leg.conference
    if not leg.dial.call_sid or not conference.sid:
        raise LiveActionRefused("Your phone is not in the conference yet: answer it first.")
    detail = {"mode": mode, "change": change.sdk_kwargs()}
    try:
        gateway.update_participant(
            twilio_accounts.credentials(conference.account),
            conference.sid,
            leg.dial.call_sid,
            change,
            timeout=live_timeout(),
        )
    except errors.GatewayError as error:
        audit.record(
            AuditAction.MONITOR,
            actor=user,
            dial=leg.dial,
            outcome="failed",
            detail={**detail, "error_code": error.code, "error": error.message[:500]},
        )
        return MonitorResult(False, f"Could not switch to {mode}: {explain(error, 'you')}.", leg)
    finally:
        twilio_roster.forget_twilio_roster(conference)
    OperatorLeg.objects.filter(pk=leg.pk).update(mode=mode, coaching_call_sid=target)
    leg.refresh_from_db()
    audit.record(AuditAction.MONITOR, actor=user, dial=leg.dial, detail=detail)
    return MonitorResult(True, f"{MonitorMode(mode).label}: Twilio accepted it.", leg)


def monitor(*, user: User, conference: Conference, mode: str, target: str = "") -> MonitorResult:
    """Listen (dial your phone in muted, or mute your leg again), whisper to `target`,
    barge (speak to everyone) or leave, always on the same call."""
    _require(user, conference)
    leg = current_leg(user, conference)
    if mode == MonitorMode.LISTEN and leg is None:
        return _dial_leg(user, conference)
    if leg is None:
        raise LiveActionRefused("Listen first: your phone is not in this conference.")
    if mode == MonitorMode.LISTEN:
        change = gateway_types.ParticipantChange(muted=True, coaching=False)
        return _update_leg(user, leg, mode, change, "")
    if mode == MonitorMode.WHISPER:
        if not CALL_SID.fullmatch(target) or target == leg.dial.call_sid:
            raise LiveActionRefused("Choose whom to whisper to.")
        change = gateway_types.ParticipantChange(
            muted=False, coaching=True, call_sid_to_coach=target
        )
        return _update_leg(user, leg, mode, change, target)
    if mode == MonitorMode.BARGE:
        change = gateway_types.ParticipantChange(muted=False, coaching=False)
        return _update_leg(user, leg, mode, change, "")
    if mode == MonitorMode.LEFT:
        return _leave(user, leg)
    raise LiveActionRefused(f"“{mode}” is not a way to monitor.")


def _leave(user: User, leg: OperatorLeg) -> MonitorResult:
    conference = leg.conference
    if not leg.dial.call_sid:
        # Not placed yet: stop it before it rings (a claimed one rings and is hung up later).
        invite_dialing.cancel_pending_dial(leg.dial_id, reason=f"{user} left before it rang")
    elif conference.sid:
        try:
            gateway.delete_participant(
                twilio_accounts.credentials(conference.account),
                conference.sid,
                leg.dial.call_sid,
                timeout=live_timeout(),
            )
        except errors.GatewayError as error:
            if error.status != 404:  # already gone is what we wanted
                return MonitorResult(False, f"Could not hang up: {explain(error, 'you')}.", leg)
        finally:
            twilio_roster.forget_twilio_roster(conference)
    OperatorLeg.objects.filter(pk=leg.pk).update(mode=MonitorMode.LEFT, coaching_call_sid="")
    leg.refresh_from_db()
    audit.record(AuditAction.MONITOR, actor=user, dial=leg.dial, detail={"mode": "left"})
    return MonitorResult(True, "You left the conference.", leg)
