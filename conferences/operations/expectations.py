"""What each state expects next, and by when: the dials and conferences whose next event is
overdue, so reconciliation asks Twilio about them (issue 19).

Silence alone (RECONCILE_AFTER_SECONDS) says nothing about a call: a queued call hears its
next callback within seconds, a ringing one by its Timeout, a call in a conference may talk
for an hour. So each state has its own deadline, each a setting (RECONCILE_…):

- queued or initiated: no progress for …_DIALING_AFTER_SECONDS;
- ringing: past its Timeout, Twilio's 5 s buffer and …_RINGING_MARGIN_SECONDS;
- in the conference: not checked for …_LIVE_EVERY_SECONDS (one participant list per
  conference answers for all its calls);
- left the conference: no call end …_LEAVE_AFTER_SECONDS after the leave;
- ended after joining: no leave …_LEAVE_AFTER_SECONDS after the end;
- a conference whose last participant left: no conference-end
  …_CONFERENCE_END_AFTER_SECONDS after that.

A record is due again only once its own deadline has passed since it was last asked
(`reconciled_at`), so a call that stays queued at Twilio costs one look per deadline.
Nor is one whose news is stored and not yet applied: the applier is about to tell what
Twilio would, and asking now costs a request and writes a redundant reconciled event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet

from conferences.callbacks import claims as callback_claims
from conferences.models import (
    FINAL_DIAL_STATUSES,
    KINDS_NAMING_THEIR_DIAL,
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
)
from conferences.schema import parameter

# Twilio adds this to every ring timeout ("We always add a 5-second timeout buffer").
TWILIO_RING_BUFFER_SECONDS = 5
# Still the pipeline's (pending, placing) or still at Twilio: a conference with one of these
# has not lost its last participant.
_NOT_DONE = (
    DialStatus.PENDING,
    DialStatus.PLACING,
    DialStatus.QUEUED,
    DialStatus.INITIATED,
    DialStatus.RINGING,
)


class Expected(StrEnum):
    """The event a dial waits for, named for what reconciliation looks at."""

    PROGRESS = "progress"  # queued / initiated: ringing or an end
    RING_END = "ring end"  # ringing: an answer or no-answer by its Timeout
    STILL_LIVE = "still live"  # in the conference: the steady, cheap check
    CALL_END = "call end"  # left the conference: the call's own end
    LEAVE = "leave"  # ended after joining: its participant-leave


# The states whose truth one participant list per conference tells (listed or not).
LISTED = frozenset({Expected.PROGRESS, Expected.RING_END, Expected.STILL_LIVE})


@dataclass(frozen=True)
class Deadlines:
    dialing: timedelta
    ringing_margin: timedelta
    live_every: timedelta
    leave_after: timedelta
    conference_end_after: timedelta

    @classmethod
    def from_settings(cls) -> Deadlines:
        return cls(
            dialing=timedelta(seconds=settings.RECONCILE_DIALING_AFTER_SECONDS),
            ringing_margin=timedelta(seconds=settings.RECONCILE_RINGING_MARGIN_SECONDS),
            live_every=timedelta(seconds=settings.RECONCILE_LIVE_EVERY_SECONDS),
            leave_after=timedelta(seconds=settings.RECONCILE_LEAVE_AFTER_SECONDS),
            conference_end_after=timedelta(seconds=settings.RECONCILE_CONFERENCE_END_AFTER_SECONDS),
        )

    def wait_for(self, expected: Expected) -> timedelta:
        """How long a state may stay quiet, and how often it is asked about again
        (ringing: the margin; its Timeout is added per dial)."""
        return {
            Expected.PROGRESS: self.dialing,
            Expected.RING_END: self.ringing_margin,
            Expected.STILL_LIVE: self.live_every,
            Expected.CALL_END: self.leave_after,
            Expected.LEAVE: self.leave_after,
        }[expected]


@dataclass(frozen=True)
class DueDial:
    pk: int
    conference_id: int
    expected: Expected


def ring_timeout(dial: DialRequest) -> timedelta:
    """How long Twilio lets this dial ring: its Timeout (or Twilio's default) plus 5 s."""
    default = parameter("Timeout").default
    raw = dial.params.get("Timeout", default) if isinstance(dial.params, dict) else default
    try:
        seconds = int(str(raw))
    except ValueError:
        seconds = int(str(default))
    return timedelta(seconds=seconds + TWILIO_RING_BUFFER_SECONDS)


def _not_asked_since(cutoff: datetime) -> Q:
    return Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=cutoff)


def _news_waiting() -> Exists:
    """A callback about this dial is stored and still to apply (one that failed to apply
    MAX_APPLY_ATTEMPTS times is not: it holds nothing back): by the dial's id in its URL,
    or (conference events) by its call."""
    waiting = callback_claims.unapplied_events().filter(
        Q(dial_id_in_url=OuterRef("pk"), kind__in=KINDS_NAMING_THEIR_DIAL)
        | Q(call_sid=OuterRef("call_sid"), call_sid__gt="")
    )
    return Exists(waiting)


def _conference_news_waiting() -> Exists:
    waiting = callback_claims.unapplied_events().filter(conference_sid=OuterRef("sid"))
    return Exists(waiting)


def _unless_it_left(expected: Expected, left_at: datetime | None) -> Expected:
    """A dial whose participant left is in no participant list, which then tells nothing
    about it: whatever its status still says, it waits for its call's own end, fetched by
    itself (a ringing dial whose leave came and whose no-answer was lost stayed ringing)."""
    return Expected.CALL_END if left_at is not None and expected in LISTED else expected


def due_dials(now: datetime, deadlines: Deadlines, *, limit: int) -> list[DueDial]:
    """Dials whose expected next event is overdue, oldest first, at most `limit`."""
    due: list[DueDial] = []

    def take(rows: QuerySet[DialRequest], expected: Expected) -> None:
        found = rows.values_list("pk", "conference_id", "left_at")[: limit - len(due)]
        for pk, conference_id, left_at in found:
            due.append(DueDial(pk, conference_id, _unless_it_left(expected, left_at)))

    dialing = now - deadlines.dialing
    take(
        DialRequest.objects.filter(
            status__in=(DialStatus.QUEUED, DialStatus.INITIATED), updated_at__lt=dialing
        )
        .filter(_not_asked_since(dialing), ~_news_waiting())
        .order_by("updated_at"),
        Expected.PROGRESS,
    )
    # Ringing: the shortest Timeout (5 s) narrows the rows, each dial's own decides.
    margin = now - deadlines.ringing_margin
    shortest = margin - timedelta(seconds=5 + TWILIO_RING_BUFFER_SECONDS)
    ringing = DialRequest.objects.filter(status=DialStatus.RINGING, updated_at__lt=shortest).filter(
        _not_asked_since(margin), ~_news_waiting()
    )
    rows = ringing.only("pk", "conference_id", "params", "updated_at", "left_at")
    for dial in rows.order_by("updated_at"):
        if len(due) < limit and dial.updated_at + ring_timeout(dial) < margin:
            expected = _unless_it_left(Expected.RING_END, dial.left_at)
            due.append(DueDial(dial.pk, dial.conference_id, expected))
    live = now - deadlines.live_every
    take(
        DialRequest.objects.filter(
            status=DialStatus.IN_PROGRESS, left_at__isnull=True, updated_at__lt=live
        )
        .filter(_not_asked_since(live), ~_news_waiting())
        .order_by("updated_at"),
        Expected.STILL_LIVE,
    )
    left = now - deadlines.leave_after
    take(
        DialRequest.objects.filter(status=DialStatus.IN_PROGRESS, left_at__lt=left)
        .filter(_not_asked_since(left), ~_news_waiting())
        .order_by("left_at"),
        Expected.CALL_END,
    )
    take(
        DialRequest.objects.filter(
            status__in=FINAL_DIAL_STATUSES,
            joined_at__isnull=False,
            left_at__isnull=True,
            ended_at__lt=left,
            call_sid__gt="",
        )
        .filter(_not_asked_since(left), ~_news_waiting())
        .order_by("ended_at"),
        Expected.LEAVE,
    )
    return due


def conferences_past_their_end(
    now: datetime, deadlines: Deadlines, *, limit: int
) -> list[tuple[int, datetime]]:
    """Open conferences someone joined whose every dial has ended or left, quiet for
    RECONCILE_CONFERENCE_END_AFTER_SECONDS, and not asked since: conference-end is overdue.
    (pk, last activity) pairs, oldest first, at most `limit`.

    Asked once per quiet spell (a conference Twilio still calls live, say with a participant
    the app did not dial, is left to the slow RECONCILE_AFTER_SECONDS sweep until it moves).
    """
    cutoff = now - deadlines.conference_end_after
    still_in = DialRequest.objects.filter(conference=OuterRef("pk")).filter(
        Q(status__in=_NOT_DONE) | Q(status=DialStatus.IN_PROGRESS, left_at__isnull=True)
    )
    # An answered call of a conference joined it, should its participant-join be lost.
    joined = DialRequest.objects.filter(conference=OuterRef("pk")).filter(
        Q(joined_at__isnull=False) | Q(answered_at__isnull=False)
    )
    rows = (
        Conference.objects.exclude(status=ConferenceStatus.COMPLETED)
        .filter(sid__isnull=False)
        .filter(Exists(joined) | Q(status=ConferenceStatus.IN_PROGRESS))
        .exclude(Exists(still_in))
        .exclude(_conference_news_waiting())
        .annotate(last_activity=Max("dials__updated_at"))
        .filter(last_activity__lt=cutoff)
        .filter(Q(reconciled_at__isnull=True) | Q(reconciled_at__lt=F("last_activity")))
        .order_by("last_activity")
        .values_list("pk", "last_activity")
    )
    return list(rows[:limit])
