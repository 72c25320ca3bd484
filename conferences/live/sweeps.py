"""The live sweep: remove answering machines and redial invitees whose call dropped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.dialing import submission as dial_submission
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.live import access as live_access
from conferences.live.access import live_timeout
from conferences.live.actions import LiveActionRefused
from conferences.live.invite_dialing import dial_invitee
from conferences.models import (
    Conference,
    ConferenceControls,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    InviteeDial,
)

logger = logging.getLogger(__name__)


# --- The sweep: answering machines out, dropped invitees back in ----------------------

# A completed call whose participant-leave has not arrived yet: wait this long for it
# before judging how the caller left.
LEAVE_GRACE = timedelta(seconds=5)


def remove_voicemail_calls() -> int:
    """Remove invitee calls an answering machine picked up (where the conference says so)."""
    links = (
        InviteeDial.objects.filter(
            voicemail_handled_at__isnull=True,
            dial__status=DialStatus.IN_PROGRESS,
            dial__left_at__isnull=True,
        )
        .filter(Q(dial__answered_by__startswith="machine") | Q(dial__answered_by="fax"))
        .select_related("dial", "dial__conference", "dial__conference__account")
    )
    removed = 0
    for link in links[:200]:
        dial = link.dial
        conference = dial.conference
        if not live_access.controls_for(conference).remove_voicemail or not conference.sid:
            continue
        claimed = InviteeDial.objects.filter(pk=link.pk, voicemail_handled_at__isnull=True).update(
            voicemail_handled_at=timezone.now()
        )
        if not claimed:
            continue  # another sweep has it
        removed += _remove_machine(link, dial, conference)
    return removed


def _remove_machine(link: InviteeDial, dial: DialRequest, conference: Conference) -> int:
    detail: dict[str, Any] = {
        "call_sid": dial.call_sid,
        "reason": "voicemail",
        "answered_by": dial.answered_by,
    }
    try:
        gateway.delete_participant(
            twilio_accounts.credentials(conference.account),
            conference.sid or "",
            dial.call_sid,
            timeout=live_timeout(),
        )
    except errors.GatewayError as error:
        gone = error.code == 20404 or error.status == 404
        if error.retryable and not gone:
            # Let the next sweep try again.
            InviteeDial.objects.filter(pk=link.pk).update(voicemail_handled_at=None)
        audit.record(
            AuditAction.REMOVE,
            actor=None,
            dial=dial,
            outcome="gone" if gone else "failed",
            detail={**detail, "error_code": error.code, "error": error.message[:500]},
        )
        return 0
    audit.record(AuditAction.REMOVE, actor=None, dial=dial, detail=detail)
    logger.info("dial %s: answering machine removed from conference %s", dial.pk, conference.pk)
    return 1


def redial_dropped_invitees() -> int:
    """Dial dropped invitees again where the conference asks for it, at most N times each."""
    redialed = 0
    settled_before = timezone.now() - LEAVE_GRACE
    controls_rows = ConferenceControls.objects.filter(
        redial_dropped=True, redial_max__gt=0
    ).exclude(conference__status=ConferenceStatus.COMPLETED)
    for controls in controls_rows.select_related("conference"):
        candidates = (
            controls.conference.invitees.filter(
                last_dial__status=DialStatus.COMPLETED,
                auto_redials__lt=controls.redial_max,
            )
            .filter(~Q(last_dial__end_reason="") | Q(last_dial__updated_at__lt=settled_before))
            .select_related("last_dial", "last_dial__operator")
        )
        for invitee in candidates[:200]:
            last = invitee.last_dial
            if last is None:
                continue
            try:
                dial = dial_invitee(
                    operator=last.operator,
                    invitee_id=invitee.pk,
                    reason=InviteeDial.Reason.AUTO_REDIAL,
                    after_dial_id=last.pk,
                    automatic=True,
                )
            except (LiveActionRefused, IntegrityError, dial_submission.LabelInUse) as error:
                logger.warning("invitee %s not redialed: %s", invitee.pk, error)
                continue
            redialed += dial is not None
    return redialed


@dataclass(frozen=True)
class LiveSweepReport:
    voicemail_removed: int
    redialed: int


def sweep_live_conferences() -> LiveSweepReport:
    """What beat runs every few seconds: machines out, dropped invitees back in."""
    return LiveSweepReport(
        voicemail_removed=remove_voicemail_calls(), redialed=redial_dropped_invitees()
    )
