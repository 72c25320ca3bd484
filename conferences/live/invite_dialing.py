"""Dialing invitees: one, again, or all missing at once, and cancelling a bulk dial.

Never dialing an invitee twice rests on the database: the invitee row is locked while its
next dial is decided, and (invitee, attempt) is unique."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from conferences.accounts import masking
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.callbacks.addresses import OPERATOR_CALLBACK_PARAMETERS
from conferences.dialing import submission as dial_submission
from conferences.live import access as live_access
from conferences.live import attendance, invite_list
from conferences.live.actions import LiveActionRefused, _require
from conferences.live.attendance import Attendance
from conferences.live.invite_import import GENERATED_LABEL_PREFIX, _preset_params
from conferences.models import (
    BulkDialRun,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    Invitee,
    InviteeDial,
    RoleSettings,
    User,
)

logger = logging.getLogger(__name__)


# --- Dialing invitees -----------------------------------------------------------------


class ConferenceEnded(LiveActionRefused):
    pass


def _label_for(invitee: Invitee, attempt: int, taken: set[str]) -> str:
    """bob, bob-2, … by attempt; the next free one when a dial (from the dial page, say)
    already holds it in this conference."""
    base = invitee.label or f"{GENERATED_LABEL_PREFIX}{invitee.pk}"
    wanted = dial_submission.numbered_label(base, attempt)
    if wanted not in taken:
        return wanted
    return dial_submission.free_label(base, taken, start=attempt + 1)


def _dial_params(
    operator: User, invitee: Invitee, attempt: int, caller_id: str
) -> tuple[dict[str, Any], str]:
    """Create Participant body for an invitee, and a note when their preset was not used.
    Machine detection is always on: voicemail must never be bridged in silently."""
    taken = dial_submission.labels_in_use(invitee.conference)
    basics = {"To": invitee.number, "From": caller_id, "Label": _label_for(invitee, attempt, taken)}
    params: dict[str, Any] = dict(basics)
    note = ""
    if invitee.preset_name:
        preset_params, complaints = _preset_params(
            operator, invitee.preset_name, invitee.conference, basics
        )
        if preset_params is not None:
            params = {**preset_params, **basics}
        else:
            note = f"preset “{invitee.preset_name}” not used" + (
                f": {'; '.join(complaints)}" if complaints else " (no such preset)"
            )
    params.setdefault("MachineDetection", "Enable")
    # Issue 21: in a planned event the invitee's role decides how they join (over a preset).
    role = RoleSettings.objects.filter(conference=invitee.conference, role=invitee.role).first()
    if role is not None:
        lecture = live_access.controls_for(invitee.conference).lecture_mode
        params.update(role.participant_params(lecture_mode=lecture))
    return params, note


def _attendance_now(invitee: Invitee) -> str:
    """The invitee's attendance from the database as it is now (after the row lock)."""
    if invitee.last_dial_id is None:
        return Attendance.NOT_DIALED
    dial = DialRequest.objects.get(pk=invitee.last_dial_id)
    controls = live_access.controls_for(invitee.conference)
    return attendance.attendance_of([dial], dropped_within_seconds=controls.dropped_within_seconds)[
        dial.pk
    ].state


def dial_invitee(
    *,
    operator: User,
    invitee_id: int,
    reason: str,
    caller_id: str = "",
    run: BulkDialRun | None = None,
    after_dial_id: int | None = None,
    automatic: bool = False,
) -> DialRequest | None:
    """Dial one invitee through the pipeline unless they are already queued, ringing or in.

    None when nothing was dialed: the invitee is on their way in, or (with `after_dial_id`,
    for redials) someone dialed them again since the page was drawn. The invitee row stays
    locked until the dial is stored, and (invitee, attempt) is unique.
    """
    with transaction.atomic():
        invitee = (
            Invitee.objects.select_for_update(of=("self",))
            .select_related("conference", "conference__account")
            .get(pk=invitee_id)
        )
        conference = invitee.conference
        if after_dial_id is not None and invitee.last_dial_id != after_dial_id:
            return None
        state = _attendance_now(invitee)
        if state in Attendance.ACTIVE:
            return None
        if conference.status == ConferenceStatus.COMPLETED:
            raise ConferenceEnded("This conference has ended: plan a new one to dial again.")
        if reason == InviteeDial.Reason.AUTO_REDIAL:
            limit = live_access.controls_for(conference).redial_max
            if state != Attendance.DROPPED or invitee.auto_redials >= limit:
                return None
        last = invitee.last_dial
        caller_id = caller_id or (last.from_number if last else "") or _default_caller(conference)
        attempt = invitee.dial_count + 1
        params, note = _dial_params(operator, invitee, attempt, caller_id)
        hidden = not masking.may_see_invitee_number(operator, invitee)
        if hidden:
            # Relayed callbacks carry To and From: never to the URL of someone who only
            # sees this invitee's number masked.
            params = {
                name: value
                for name, value in params.items()
                if name not in OPERATOR_CALLBACK_PARAMETERS
            }
        try:
            dial = dial_submission.submit_dial(
                operator=operator,
                submission=dial_submission.DialSubmission(
                    conference.sid or conference.friendly_name, params
                ),
                account=conference.account,
            )
        except dial_submission.ConferenceRefused as refused:
            # The operator was taken off the conference since (an automatic redial too).
            raise LiveActionRefused(str(refused)) from refused
        if dial.conference_id != conference.pk:
            raise LiveActionRefused(
                f"Another open conference is also named “{conference.friendly_name}”."
            )
        if hidden:
            DialRequest.objects.filter(pk=dial.pk).update(numbers_hidden_from_operator=True)
            dial.numbers_hidden_from_operator = True
        InviteeDial.objects.create(
            invitee=invitee, attempt=attempt, dial=dial, run=run, reason=reason
        )
        Invitee.objects.filter(pk=invitee.pk).update(
            dial_count=attempt,
            last_dial=dial,
            auto_redials=F("auto_redials") + (1 if reason == InviteeDial.Reason.AUTO_REDIAL else 0),
        )
        detail: dict[str, Any] = {"invitee": invitee.pk, "attempt": attempt, "reason": reason}
        if run is not None:
            detail["run"] = run.pk
        if note:
            detail["note"] = note
        action = AuditAction.BULK_DIAL if reason == InviteeDial.Reason.BULK else AuditAction.DIAL
        if automatic:
            detail["automatic"] = True
        # An automatic redial is the app's doing, on behalf of whoever dialed them before.
        audit.record(action, actor=None if automatic else operator, dial=dial, detail=detail)
    return dial


def _default_caller(conference: Conference) -> str:
    found = invite_list.caller_ids(conference)
    if not found:
        raise LiveActionRefused("No caller ID is configured to dial from.")
    return found[0]


def redial_invitee(
    *, user: User, invitee: Invitee, after_dial_id: int | None
) -> DialRequest | None:
    """One click: dial an invitee again (or for the first time) into the same conference."""
    _require(live_access.can_dial_invitee(user, invitee.conference), "dial invitees")
    return dial_invitee(
        operator=user,
        invitee_id=invitee.pk,
        reason=InviteeDial.Reason.REDIAL,
        after_dial_id=after_dial_id,
    )


def dial_all_missing(*, user: User, conference: Conference, caller_id: str) -> BulkDialRun:
    """Dial every invitee not queued, ringing or in, through the pipeline (its exactly-once
    rules and the account's calls per second). Pressed twice, it dials nobody twice."""
    _require(live_access.can_bulk_dial(user, conference), "dial invite lists")
    if conference.status == ConferenceStatus.COMPLETED:
        raise ConferenceEnded("This conference has ended: plan a new one to dial the list again.")
    if caller_id not in invite_list.caller_ids(conference):
        raise LiveActionRefused("Choose one of the account's caller IDs.")
    run = BulkDialRun.objects.create(conference=conference, started_by=user)
    dialed = skipped = 0
    for invitee_id in conference.invitees.order_by("position", "pk").values_list("pk", flat=True):
        if BulkDialRun.objects.filter(pk=run.pk, canceled_at__isnull=False).exists():
            break
        try:
            dial = dial_invitee(
                operator=user,
                invitee_id=invitee_id,
                reason=InviteeDial.Reason.BULK,
                caller_id=caller_id,
                run=run,
            )
        except ConferenceEnded:
            break
        except dial_submission.LabelInUse:
            dial = None
            logger.warning("invitee %s not dialed: its label is in use", invitee_id)
        except Invitee.DoesNotExist:
            dial = None  # taken off the list meanwhile
        if dial is None:
            skipped += 1
        else:
            dialed += 1
    BulkDialRun.objects.filter(pk=run.pk).update(skipped=skipped)
    if BulkDialRun.objects.filter(pk=run.pk, canceled_at__isnull=False).exists():
        _cancel_run_dials(user, run)  # canceled while we were still queuing
    audit.record(
        AuditAction.BULK_DIAL,
        actor=user,
        conference=conference,
        detail={"run": run.pk, "dialed": dialed, "skipped": skipped, "from": caller_id},
    )
    run.refresh_from_db()
    return run


def cancel_pending_dial(dial_id: int, *, reason: str) -> bool:
    """Stop a dial no worker has started: pending -> canceled. A claimed dial (placing or
    later) cannot be stopped, nor one whose earlier attempt may have reached Twilio."""
    now = timezone.now()
    return bool(
        DialRequest.objects.filter(
            pk=dial_id, status=DialStatus.PENDING, needs_verification=False
        ).update(
            status=DialStatus.CANCELED,
            failure_reason=reason[:500],
            ended_at=now,
            sip_auth_password_encrypted="",
            updated_at=now,
        )
    )


def _cancel_run_dials(user: User, run: BulkDialRun) -> int:
    canceled = 0
    for link in run.dials.filter(dial__status=DialStatus.PENDING).select_related("dial"):
        if cancel_pending_dial(link.dial_id, reason=f"bulk dial #{run.pk} canceled by {user}"):
            audit.record(AuditAction.CANCEL, actor=user, dial=link.dial, detail={"run": run.pk})
            canceled += 1
    return canceled


def cancel_bulk_dial(*, user: User, run: BulkDialRun) -> int:
    """Cancel what a bulk dial has not started yet; how many dials were stopped."""
    _require(live_access.can_bulk_dial(user, run.conference), "cancel bulk dials")
    BulkDialRun.objects.filter(pk=run.pk, canceled_at__isnull=True).update(
        canceled_at=timezone.now(), canceled_by=user
    )
    canceled = _cancel_run_dials(user, run)
    audit.record(
        AuditAction.CANCEL,
        actor=user,
        conference=run.conference,
        detail={"run": run.pk, "canceled": canceled},
    )
    return canceled
