"""Reconciliation: when callbacks are lost, ask Twilio's API what happened.

Callbacks get lost: our server was down, a proxy misrouted them, a signature setting broke
after a deploy. A dial still live at Twilio (queued … in-progress) that has heard nothing
for RECONCILE_AFTER_SECONDS, or an open conference as quiet, is looked up through the API
(Participant, Call and Conference fetch). What the API knows beyond our record becomes a
CallbackEvent of kind `reconciled`, written in the words of the callback it stands in for
(callback_applier.RECONCILED_AS), and is applied by callback_applier.apply_event: the very same
forward-only rules. So a late real callback afterwards moves nothing back, and a second
reconciliation writes nothing again (one dedupe key per fact learned).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.callbacks import applier as callback_applier
from conferences.callbacks import meaning as callback_meaning
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.models import (
    DIAL_STATUS_RANK,
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    User,
)

logger = logging.getLogger(__name__)

# Placed and not final: what only Twilio can move on. Pending and placing belong to the
# dial pipeline and its sweeper (dialing.sweeper.sweep_dials), which must stay the only writer.
LIVE_STATUSES = (
    DialStatus.QUEUED,
    DialStatus.INITIATED,
    DialStatus.RINGING,
    DialStatus.IN_PROGRESS,
)
# Per sweep, so one run stays well inside the task's time limit.
BATCH_SIZE = 50


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


@dataclass(frozen=True)
class Reconciliation:
    """What asking Twilio about one dial or conference gave."""

    target: str  # "dial" or "conference"
    pk: int
    twilio_status: str = ""  # what the API says now ("" when it could not tell)
    learned: list[str] = field(default_factory=list)  # events written to the timeline
    problem: str = ""  # why the API could not be asked, or did not know the call
    dials: list[Reconciliation] = field(default_factory=list)  # a conference's live dials

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def summary(self) -> str:
        if self.problem:
            return f"Could not reconcile: {self.problem}"
        if self.learned:
            return (
                f"Twilio says {self.twilio_status}: added {', '.join(self.learned)} "
                "to the timeline."
            )
        return f"Nothing new: Twilio also says {self.twilio_status}."


def _rfc2822(moment: datetime | None) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True) if moment else ""


def _timeout() -> float:
    return float(settings.TWILIO_HTTP_TIMEOUT_SECONDS)


# --- Which records are stale ----------------------------------------------------------


def stale_dials(now: datetime | None = None) -> QuerySet[DialRequest]:
    """Live dials that heard nothing for RECONCILE_AFTER_SECONDS and were not asked since."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    return (
        DialRequest.objects.filter(status__in=LIVE_STATUSES, updated_at__lt=cutoff)
        .filter(Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=cutoff))
        .order_by("updated_at")
    )


def stale_conferences(now: datetime | None = None) -> QuerySet[Conference]:
    """Open conferences Twilio named whose calls went quiet as long (say, no conference-end
    long after the last participant left)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    return (
        Conference.objects.exclude(status=ConferenceStatus.COMPLETED)
        .filter(sid__isnull=False, created_at__lt=cutoff)
        .filter(Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=cutoff))
        .annotate(last_activity=Max("dials__updated_at"))
        .filter(Q(last_activity__isnull=True) | Q(last_activity__lt=cutoff))
        .order_by("created_at")
    )


def _claim(target: str, pk: int, now: datetime) -> bool:
    """Take one record for this sweep; False when another sweep asked about it meanwhile."""
    cutoff = now - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    unclaimed = Q(pk=pk) & (Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=cutoff))
    if target == "dial":
        return bool(DialRequest.objects.filter(unclaimed).update(reconciled_at=now))
    return bool(Conference.objects.filter(unclaimed).update(reconciled_at=now))


@dataclass(frozen=True)
class SweepReport:
    asked: int
    learned: int  # records whose timeline got a reconciled event
    failed: int


def reconcile_stale(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepReport:
    """The periodic sweep: ask Twilio about stale dials, then stale conferences."""
    now = now or timezone.now()
    # Half the soft limit: a slow API ends this run early, the next run goes on.
    deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    asked = learned = failed = 0
    work: list[tuple[str, int]] = [
        ("dial", pk) for pk in stale_dials(now).values_list("pk", flat=True)[:batch_size]
    ] + [
        ("conference", pk)
        for pk in stale_conferences(now).values_list("pk", flat=True)[:batch_size]
    ]
    for target, pk in work:
        if time.monotonic() > deadline:
            break
        if not _claim(target, pk, now):
            continue
        asked += 1
        try:
            result = _reconcile(target, pk, Trigger.AUTOMATIC)
        except Exception:
            logger.exception("reconciling %s %s failed", target, pk)
            failed += 1
            continue
        if result.problem:
            failed += 1
        if result.learned:
            learned += 1
            _audit(result, actor=None, trigger=Trigger.AUTOMATIC)
    if asked:
        logger.info(
            "reconcile sweep: %s asked, %s learned something, %s failed", asked, learned, failed
        )
    return SweepReport(asked=asked, learned=learned, failed=failed)


def reconcile_on_request(*, actor: User | AnonymousUser, target: str, pk: int) -> Reconciliation:
    """Reconcile now, from a call's or a conference's page: ask at once, audit the outcome.

    Raises DialRequest.DoesNotExist / Conference.DoesNotExist for an unknown record."""
    now = timezone.now()
    if target == "dial" and not DialRequest.objects.filter(pk=pk).update(reconciled_at=now):
        raise DialRequest.DoesNotExist(pk)  # before anything is asked or audited
    if target == "conference" and not Conference.objects.filter(pk=pk).update(reconciled_at=now):
        raise Conference.DoesNotExist(pk)
    result = _reconcile(target, pk, Trigger.ON_REQUEST)
    _audit(result, actor=actor, trigger=Trigger.ON_REQUEST)
    for dial_result in result.dials:  # each call's own trail shows it was reconciled
        _audit(dial_result, actor=actor, trigger=Trigger.ON_REQUEST)
    return result


def _reconcile(target: str, pk: int, trigger: str) -> Reconciliation:
    if target == "dial":
        return reconcile_dial(pk, trigger=trigger)
    if target == "conference":
        return reconcile_conference(pk, trigger=trigger)
    raise ValueError(f"cannot reconcile a {target!r}")


def _audit(result: Reconciliation, *, actor: User | AnonymousUser | None, trigger: str) -> None:
    dial = DialRequest.objects.filter(pk=result.pk).first() if result.target == "dial" else None
    conference = (
        Conference.objects.filter(pk=result.pk).first() if result.target == "conference" else None
    )
    audit.record(
        audit.AuditAction.RECONCILE,
        actor=actor,
        dial=dial,
        conference=conference,
        outcome="ok" if result.ok else "failed",
        detail={
            "trigger": trigger,
            "twilio_status": result.twilio_status,
            "learned": result.learned,
            **({"problem": result.problem} if result.problem else {}),
        },
    )


# --- A dial ---------------------------------------------------------------------------


def reconcile_dial(dial_id: int, *, trigger: str = Trigger.AUTOMATIC) -> Reconciliation:
    """Ask Twilio about one dial's call; write and apply what our record lacks."""
    dial = DialRequest.objects.select_related("account", "conference").get(pk=dial_id)
    if dial.status in (DialStatus.PENDING, DialStatus.PLACING):
        return Reconciliation(
            "dial", dial_id, problem="the call is still being placed; the dial pipeline has it"
        )
    creds = twilio_accounts.credentials(dial.account)
    try:
        call_sid = dial.call_sid or _call_sid_from_participant(dial, creds)
        if not call_sid:
            return Reconciliation(
                "dial", dial_id, problem="Twilio has no call for this dial (no CallSid yet)"
            )
        call = gateway.fetch_call(creds, call_sid, timeout=_timeout())
    except errors.GatewayError as error:
        return Reconciliation("dial", dial_id, problem=f"Twilio did not answer: {error.message}")
    if call is None:
        return Reconciliation("dial", dial_id, problem=f"Twilio does not know call {call_sid}")
    learned = [
        fact.event
        for fact in call_facts(dial, call, trigger=trigger)
        if _write(fact, subject_sid=call.sid, dial=dial, conference=dial.conference)
    ]
    return Reconciliation("dial", dial_id, twilio_status=call.status, learned=learned)


def _call_sid_from_participant(dial: DialRequest, creds: gateway_types.AccountCredentials) -> str:
    """A placed dial whose CallSid we never learned: its Label finds it while it is live."""
    if not dial.conference.sid:
        return ""
    participant = gateway.fetch_participant(
        creds, dial.conference.sid, dial.label, timeout=_timeout()
    )
    return participant.call_sid if participant else ""


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


# --- A conference ---------------------------------------------------------------------


def reconcile_conference(conference_id: int, *, trigger: str = Trigger.AUTOMATIC) -> Reconciliation:
    """Ask Twilio about one conference; on request, about its live dials as well."""
    conference = Conference.objects.select_related("account").get(pk=conference_id)
    dials: list[Reconciliation] = []
    if trigger == Trigger.ON_REQUEST:
        live = conference.dials.filter(status__in=LIVE_STATUSES).values_list("pk", flat=True)
        dials = [reconcile_dial(dial_id, trigger=trigger) for dial_id in live]
    learned = [f"{event} (call #{each.pk})" for each in dials for event in each.learned]
    problems = [f"call #{each.pk}: {each.problem}" for each in dials if each.problem]

    def outcome(status: str = "", problem: str = "") -> Reconciliation:
        every_problem = "; ".join([*problems, problem] if problem else problems)
        return Reconciliation("conference", conference_id, status, learned, every_problem, dials)

    if not conference.sid:
        return outcome(problem="Twilio has not named this conference yet (no SID)")
    try:
        details = gateway.fetch_conference_details(
            twilio_accounts.credentials(conference.account), conference.sid, timeout=_timeout()
        )
    except errors.GatewayError as error:
        return outcome(problem=f"Twilio did not answer: {error.message}")
    if details is None:
        return outcome(problem=f"Twilio does not know conference {conference.sid}")
    learned += [
        fact.event
        for fact in conference_facts(conference, details, trigger=trigger)
        if _write(fact, subject_sid=details.sid, dial=None, conference=conference)
    ]
    return outcome(details.status)


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


def _write(
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
