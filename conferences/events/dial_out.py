"""The dial-out of scheduled conferences: what is due is read from the database on every
beat, an event is claimed by a conditional UPDATE, and its invite list goes into the
pipeline hosts first, then speakers, then listeners.

A role's dials enter the pipeline only once every dial of the roles before it has reached
Twilio (or failed): several workers share the queue and each takes its own CPS slot, so
dials queued together may reach Twilio in any order among themselves. Until then the
dial-out lets go of its claim and looks again `ROLE_STEP_SECONDS` later (and at every
beat), so no worker waits inside a task.

Nobody is dialed twice: a dial-out that died half-way lets its claim lapse, and the one that
takes over skips every invitee its bulk run already holds a dial for (and `dial_invitee`
itself skips anyone queued, ringing or in)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.core import task_queue
from conferences.core.dial_states import DialStatus, statuses_before
from conferences.dialing import submission as dial_submission
from conferences.live import invite_dialing
from conferences.live.actions import LiveActionRefused
from conferences.models import (
    ROLE_ORDER,
    BulkDialRun,
    EventStatus,
    Invitee,
    InviteeDial,
    ScheduledConference,
)

logger = logging.getLogger(__name__)

# How soon a dial-out holding a role back (the roles before it still on their way to
# Twilio) looks again; the beat looks too, every EVENTS_DUE_POLL_SECONDS.
ROLE_STEP_SECONDS = 1.0
NOT_YET_AT_TWILIO = statuses_before(DialStatus.QUEUED)

ROLE_RANK = Case(
    *(When(role=role, then=Value(rank)) for rank, role in enumerate(ROLE_ORDER)),
    default=Value(len(ROLE_ORDER)),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class DialOutReport:
    event_id: int
    dialed: int
    skipped: int
    refused: int
    # Roles still to dial once the roles before them have reached Twilio.
    holding: bool = False


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=float(settings.EVENTS_DIAL_OUT_LEASE_SECONDS))


def _takeable(now: datetime) -> Q:
    """Events a dial-out may take at `now`: due and scheduled, or dialing with no live claim
    (its process died and the lease lapsed, or it let go to hold a role back)."""
    unclaimed = Q(claimed_until__lt=now) | Q(claimed_until__isnull=True)
    return Q(dial_at__lte=now) & (
        Q(status=EventStatus.SCHEDULED) | (Q(status=EventStatus.DIALING) & unclaimed)
    )


def due_event_ids(now: datetime) -> list[int]:
    """Events whose dial-out time has come and that nobody is dialing out right now."""
    return list(
        ScheduledConference.objects.filter(_takeable(now))
        .order_by("dial_at", "pk")
        .values_list("pk", flat=True)
    )


def claim_event(event_id: int, now: datetime) -> bool:
    """Scheduled (or lapsed) -> dialing, for one taker only; False if someone else has it,
    or it was canceled, moved or already dialed."""
    return bool(
        ScheduledConference.objects.filter(_takeable(now), pk=event_id).update(
            status=EventStatus.DIALING,
            claimed_until=_lease(now),
            dial_started_at=Coalesce("dial_started_at", Value(now)),
        )
    )


def run_for(event: ScheduledConference, now: datetime) -> BulkDialRun:
    """The event's bulk run (its progress shows on the conference page), made once."""
    if event.run is not None:
        return event.run
    run = BulkDialRun.objects.create(
        conference=event.conference, started_by=event.planned_by, started_at=now
    )
    ScheduledConference.objects.filter(pk=event.pk).update(run=run)
    return run


def invitees_in_dial_order(event: ScheduledConference) -> list[Invitee]:
    """Hosts, then speakers, then listeners; each group in list order."""
    return list(
        event.conference.invitees.annotate(role_rank=ROLE_RANK).order_by(
            "role_rank", "position", "pk"
        )
    )


def dial_out(event_id: int, now: datetime) -> DialOutReport:
    """Dial a claimed event's invite list through the pipeline (the account's CPS paces it),
    extending the claim as it goes; then mark it dialed."""
    event = ScheduledConference.objects.select_related(
        "conference", "conference__account", "planned_by", "run"
    ).get(pk=event_id)
    run = run_for(event, now)
    already = set(InviteeDial.objects.filter(run=run).values_list("invitee_id", flat=True))
    dialed = skipped = refused = 0
    for invitee in invitees_in_dial_order(event):
        if invitee.pk in already:
            continue
        if _roles_before_on_their_way(run, invitee.role):
            return _hold_role(event, run, now, dialed=dialed, skipped=skipped, refused=refused)
        ScheduledConference.objects.filter(pk=event.pk, status=EventStatus.DIALING).update(
            claimed_until=_lease(max(now, timezone.now()))
        )
        try:
            dial = invite_dialing.dial_invitee(
                operator=event.planned_by,
                invitee_id=invitee.pk,
                reason=InviteeDial.Reason.BULK,
                caller_id=event.caller_id,
                run=run,
            )
        except invite_dialing.ConferenceEnded:
            break
        except (LiveActionRefused, dial_submission.LabelInUse) as refusal:
            logger.warning("event %s: invitee %s not dialed: %s", event.pk, invitee.pk, refusal)
            refused += 1
            continue
        except Invitee.DoesNotExist:
            continue  # taken off the list meanwhile
        if dial is None:
            skipped += 1
        else:
            dialed += 1
    BulkDialRun.objects.filter(pk=run.pk).update(skipped=F("skipped") + skipped + refused)
    ScheduledConference.objects.filter(pk=event.pk, status=EventStatus.DIALING).update(
        status=EventStatus.DIALED, dialed_at=timezone.now(), claimed_until=None
    )
    audit.record(
        AuditAction.EVENT_DIAL_OUT,
        actor=None,
        conference=event.conference,
        detail={
            "event": event.pk,
            "run": run.pk,
            # Over every step of the dial-out, not only this last one.
            "dialed": InviteeDial.objects.filter(run=run).count(),
            "skipped": BulkDialRun.objects.get(pk=run.pk).skipped,
        },
    )
    return DialOutReport(event_id=event.pk, dialed=dialed, skipped=skipped, refused=refused)


def _roles_before_on_their_way(run: BulkDialRun, role: str) -> bool:
    """Whether a dial of a role before `role` is still waiting for, or placing, its create."""
    before = ROLE_ORDER[: ROLE_ORDER.index(role)] if role in ROLE_ORDER else ROLE_ORDER
    return InviteeDial.objects.filter(
        run=run, invitee__role__in=before, dial__status__in=NOT_YET_AT_TWILIO
    ).exists()


def _hold_role(
    event: ScheduledConference,
    run: BulkDialRun,
    now: datetime,
    *,
    dialed: int,
    skipped: int,
    refused: int,
) -> DialOutReport:
    """Let go of the claim (the event stays dialing, due again) and look again soon."""
    BulkDialRun.objects.filter(pk=run.pk).update(skipped=F("skipped") + skipped + refused)
    ScheduledConference.objects.filter(pk=event.pk, status=EventStatus.DIALING).update(
        claimed_until=None
    )
    look_again = task_queue.task(task_queue.DIAL_DUE_EVENTS)
    transaction.on_commit(
        lambda: look_again.apply_async(kwargs={"now": now.isoformat()}, countdown=ROLE_STEP_SECONDS)
    )
    return DialOutReport(
        event_id=event.pk, dialed=dialed, skipped=skipped, refused=refused, holding=True
    )


def give_up_on_missed(now: datetime) -> int:
    """Scheduled events whose start is EVENTS_MISSED_AFTER_SECONDS past and that were never
    dialed: marked missed (and audited), not dialed into a call long over."""
    late = now - timedelta(seconds=float(settings.EVENTS_MISSED_AFTER_SECONDS))
    missed = list(
        ScheduledConference.objects.filter(
            status=EventStatus.SCHEDULED, starts_at__lt=late
        ).select_related("conference")
    )
    for event in missed:
        if ScheduledConference.objects.filter(pk=event.pk, status=EventStatus.SCHEDULED).update(
            status=EventStatus.MISSED
        ):
            audit.record(
                AuditAction.EVENT_DIAL_OUT,
                actor=None,
                conference=event.conference,
                outcome="failed",
                detail={
                    "event": event.pk,
                    "missed": True,
                    "starts_at": event.starts_at.isoformat(),
                },
            )
            logger.warning("event %s missed: its dial-out never ran in time", event.pk)
    return len(missed)


def dial_due_events(now: datetime | None = None) -> list[DialOutReport]:
    """Claim and dial out every event that is due at `now` (the clock when not given: the
    argument lets tests and operators move time forward without waiting)."""
    now = now or timezone.now()
    give_up_on_missed(now)
    reports = []
    for event_id in due_event_ids(now):
        if claim_event(event_id, now):
            reports.append(dial_out(event_id, now))
    return reports
