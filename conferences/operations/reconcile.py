"""Reconciliation: when callbacks are lost, ask Twilio's API what happened.

Callbacks get lost: our server was down, a proxy misrouted them, a signature setting broke
after a deploy. Each state expects its next event by a deadline of its own
(`operations.expectations`): a queued or initiated call its progress within ~30 s, a ringing
one an end by its Timeout, a call that left the conference its end, an ended participant its
leave, a conference whose last participant left its end. When that deadline passes the record
is looked up through the API; calls in a conference are checked at a steady, cheap rate, one
participant list per conference, and only a call the list does not show as expected is
fetched. Anything silent for RECONCILE_AFTER_SECONDS is looked up too, whatever its state.

What the API knows beyond our record becomes a reconciled CallbackEvent applied by the same
forward-only rules as a callback (`operations.reconcile_facts`). So a late real callback
afterwards moves nothing back, and a second reconciliation writes nothing again. Every request
reconciliation makes to the API is counted (`api_requests_made`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.callbacks import meaning as callback_meaning
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.models import (
    DIAL_STATUS_RANK,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    User,
)
from conferences.operations import expectations, reconcile_requests
from conferences.operations.reconcile_facts import (
    Trigger,
    call_facts,
    conference_facts,
    leave_fact,
    record_fact,
)
from conferences.operations.reconcile_requests import api_requests_made, requests_made_here

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

__all__ = ["Trigger", "api_requests_made", "reconcile_on_request", "reconcile_stale"]


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


def _claim_due(due: expectations.DueDial, now: datetime, deadlines: expectations.Deadlines) -> bool:
    """Take one overdue dial for this sweep; False when another sweep asked about it since."""
    cutoff = now - deadlines.wait_for(due.expected)
    unclaimed = Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=cutoff)
    return bool(DialRequest.objects.filter(unclaimed, pk=due.pk).update(reconciled_at=now))


def _claim_conference_end(pk: int, last_activity: datetime, now: datetime) -> bool:
    """Take a conference whose end is overdue, once per quiet spell."""
    unclaimed = Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=last_activity)
    return bool(Conference.objects.filter(unclaimed, pk=pk).update(reconciled_at=now))


def _alone(reconcile: Callable[[int], Reconciliation], pk: int) -> list[Reconciliation]:
    return [reconcile(pk)]


@dataclass(frozen=True)
class SweepReport:
    asked: int
    learned: int  # records whose timeline got a reconciled event
    failed: int
    api_requests: int = 0  # requests this sweep made to Twilio's API


def _overdue_work(now: datetime, batch_size: int) -> list[Callable[[], list[Reconciliation]]]:
    """What the states' deadlines call for now, each piece claimed: one participant list per
    conference with overdue calls in it, a fetch per call that left or ended, a fetch per
    conference whose end is overdue."""
    deadlines = expectations.Deadlines.from_settings()
    claimed = [
        due
        for due in expectations.due_dials(now, deadlines, limit=batch_size)
        if _claim_due(due, now, deadlines)
    ]
    listed = sorted({due.conference_id for due in claimed if due.expected in expectations.LISTED})
    work: list[Callable[[], list[Reconciliation]]] = [
        functools.partial(check_conference_calls, conference_id, now=now)
        for conference_id in listed
    ]
    work += [
        functools.partial(_alone, reconcile_dial, due.pk)
        for due in claimed
        if due.expected not in expectations.LISTED
    ]
    ending = expectations.conferences_past_their_end(now, deadlines, limit=batch_size)
    for pk, last_activity in ending:
        if _claim_conference_end(pk, last_activity, now):
            work.append(functools.partial(_alone, reconcile_conference, pk))
    return work


def _silent_work(now: datetime, batch_size: int) -> list[Callable[[], list[Reconciliation]]]:
    """Whatever stayed silent for RECONCILE_AFTER_SECONDS, whatever its state: the net
    under the deadlines (a conference nobody joined, a status this app does not know)."""
    work: list[Callable[[], list[Reconciliation]]] = []
    for pk in stale_dials(now).values_list("pk", flat=True)[:batch_size]:
        if _claim("dial", pk, now):
            work.append(functools.partial(_alone, reconcile_dial, pk))
    for pk in stale_conferences(now).values_list("pk", flat=True)[:batch_size]:
        if _claim("conference", pk, now):
            work.append(functools.partial(_alone, reconcile_conference, pk))
    return work


def reconcile_stale(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepReport:
    """The periodic sweep: ask Twilio about what is overdue for its state, then about
    anything silent for RECONCILE_AFTER_SECONDS."""
    now = now or timezone.now()
    # Half the soft limit: a slow API ends this run early, the next run goes on (what was
    # claimed and not asked is asked again once its deadline passes again).
    deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT / 2
    requests_before = requests_made_here()
    asked = learned = failed = 0
    for pieces in (_overdue_work, _silent_work):
        if time.monotonic() > deadline:
            break  # before claiming more than this run can ask about
        for piece in pieces(now, batch_size):
            if time.monotonic() > deadline:
                break
            try:
                results = piece()
            except Exception:
                logger.exception("reconciling failed")
                failed += 1
                continue
            for result in results:
                asked += 1
                failed += bool(result.problem)
                if result.learned:
                    learned += 1
                    _audit(result, actor=None, trigger=Trigger.AUTOMATIC)
    api_requests = requests_made_here() - requests_before
    if asked:
        logger.info(
            "reconcile sweep: %s asked, %s learned something, %s failed, %s API requests",
            asked,
            learned,
            failed,
            api_requests,
        )
    return SweepReport(asked=asked, learned=learned, failed=failed, api_requests=api_requests)


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
        call = reconcile_requests.ask(
            lambda: gateway.fetch_call(creds, call_sid, timeout=_timeout())
        )
    except errors.GatewayError as error:
        return Reconciliation("dial", dial_id, problem=f"Twilio did not answer: {error.message}")
    if call is None:
        return Reconciliation("dial", dial_id, problem=f"Twilio does not know call {call_sid}")
    if call.sid != call_sid:
        # Never data: an answer about another call must not land on this dial's timeline.
        logger.error("asked Twilio for call %s of dial %s, got %s", call_sid, dial_id, call.sid)
        return Reconciliation(
            "dial", dial_id, problem=f"Twilio answered about call {call.sid}, not {call_sid}"
        )
    facts = call_facts(dial, call, trigger=trigger)
    leave = leave_fact(dial, call, trigger=trigger)
    learned = [
        fact.event
        for fact in [*facts, *([leave] if leave else [])]
        if record_fact(fact, subject_sid=call.sid, dial=dial, conference=dial.conference)
    ]
    return Reconciliation("dial", dial_id, twilio_status=call.status, learned=learned)


def _call_sid_from_participant(dial: DialRequest, creds: gateway_types.AccountCredentials) -> str:
    """A placed dial whose CallSid we never learned: its Label finds it while it is live."""
    conference_sid = dial.conference.sid
    if not conference_sid:
        return ""
    participant = reconcile_requests.ask(
        lambda: gateway.fetch_participant(creds, conference_sid, dial.label, timeout=_timeout())
    )
    return participant.call_sid if participant else ""


# --- The calls of a conference, by one participant list -------------------------------


def check_conference_calls(conference_id: int, *, now: datetime) -> list[Reconciliation]:
    """The steady, cheap check: one participant list tells which of the conference's live
    calls are still where our record has them; only the others are fetched one by one.

    A call listed in the state we hold (queued and still queued, in the conference and
    still connected) has nothing to teach; one listed further on, or missing from the list
    (it ended, or never was), is fetched to learn how and when."""
    conference = Conference.objects.select_related("account").get(pk=conference_id)
    live = list(
        conference.dials.filter(status__in=LIVE_STATUSES, left_at__isnull=True).only(
            "pk", "status", "call_sid", "label"
        )
    )
    # Every live call of the conference is judged by this one list: they all wait their
    # full interval again, so a conference costs one list per interval, not one per call.
    DialRequest.objects.filter(pk__in=[dial.pk for dial in live]).update(reconciled_at=now)
    conference_sid = conference.sid
    if not conference_sid:
        return [reconcile_dial(dial.pk) for dial in live]
    creds = twilio_accounts.credentials(conference.account)
    try:
        participants = reconcile_requests.ask(
            lambda: gateway.list_participants(creds, conference_sid, timeout=_timeout())
        )
    except errors.GatewayError as error:
        if error.status != 404:
            problem = f"Twilio did not list the participants: {error.message}"
            return [Reconciliation("conference", conference_id, problem=problem)]
        participants = []  # Twilio no longer knows the conference: nobody is in it
    by_call_sid = {participant.call_sid: participant for participant in participants}
    by_label = {participant.label: participant for participant in participants}
    return [
        reconcile_dial(dial.pk)
        for dial in live
        if not _listed_where_we_have_it(
            dial, by_call_sid.get(dial.call_sid) if dial.call_sid else by_label.get(dial.label)
        )
    ]


def _listed_where_we_have_it(
    dial: DialRequest, participant: gateway_types.LiveParticipant | None
) -> bool:
    if participant is None:
        return False
    listed = callback_meaning.PARTICIPANT_STATUSES.get(participant.status)
    return listed is not None and DIAL_STATUS_RANK[listed] <= DIAL_STATUS_RANK[dial.status]


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

    conference_sid = conference.sid
    if not conference_sid:
        return outcome(problem="Twilio has not named this conference yet (no SID)")
    creds = twilio_accounts.credentials(conference.account)
    try:
        details = reconcile_requests.ask(
            lambda: gateway.fetch_conference_details(creds, conference_sid, timeout=_timeout())
        )
    except errors.GatewayError as error:
        return outcome(problem=f"Twilio did not answer: {error.message}")
    if details is None:
        return outcome(problem=f"Twilio does not know conference {conference.sid}")
    learned += [
        fact.event
        for fact in conference_facts(conference, details, trigger=trigger)
        if record_fact(fact, subject_sid=details.sid, dial=None, conference=conference)
    ]
    return outcome(details.status)
