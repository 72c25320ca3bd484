"""A conference's invite list as shown: each invitee's attendance and a bulk dial's progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils import timezone

from conferences.accounts import masking
from conferences.live.access import Viewer, controls_for
from conferences.live.attendance import (
    WAITING_DIAL_STATUSES,
    Attendance,
    AttendanceReading,
    attendance,
    attendance_of,
)
from conferences.models import (
    FINAL_DIAL_STATUSES,
    BulkDialRun,
    Conference,
    DialRequest,
    DialStatus,
    Invitee,
)

# --- The invite list ------------------------------------------------------------------


@dataclass(frozen=True)
class InviteeRow:
    invitee: Invitee
    number: str
    attendance: AttendanceReading
    expected_start: datetime | None

    @property
    def dial(self) -> DialRequest | None:
        return self.invitee.last_dial

    @property
    def redial_label(self) -> str:
        if self.attendance.state == Attendance.DROPPED:
            return "Redial"
        return "Dial" if self.invitee.last_dial is None else "Dial again"


@dataclass(frozen=True)
class RunProgress:
    run: BulkDialRun
    total: int
    waiting: int
    placed: int
    failed: int
    canceled: int

    @property
    def done(self) -> int:
        return self.total - self.waiting

    @property
    def finished(self) -> bool:
        return self.waiting == 0

    @property
    def cancelable(self) -> bool:
        return self.waiting > 0 and self.run.canceled_at is None


@dataclass(frozen=True)
class InviteList:
    rows: list[InviteeRow]
    progress: RunProgress | None
    counts: dict[str, int]

    @property
    def active(self) -> bool:
        """Something may still change without anyone pressing a button."""
        unfinished = self.progress is not None and not self.progress.finished
        return unfinished or any(row.attendance.active for row in self.rows)

    @property
    def count_labels(self) -> list[tuple[str, str, int]]:
        """(state, label, how many) in the order the states are listed."""
        return [
            (state, label, self.counts[state])
            for state, label in Attendance.LABELS.items()
            if self.counts.get(state)
        ]

    @property
    def missing(self) -> int:
        return sum(1 for row in self.rows if not row.attendance.active)


def expected_starts(dials: Sequence[DialRequest]) -> dict[int, datetime]:
    """When each waiting dial should start: its turn in its account's calls per second
    (pending dials in order), or when Twilio's queue lets it go (queued at Twilio)."""
    now = timezone.now()
    found: dict[int, datetime] = {}
    accounts_waiting = {d.account_id: d.account for d in dials if d.status == DialStatus.PENDING}
    for account_id, account in accounts_waiting.items():
        interval = (1.0 + float(settings.DIAL_PACING_MARGIN)) / max(account.calls_per_second, 0.01)
        waiting = (
            DialRequest.objects.filter(account_id=account_id, status=DialStatus.PENDING)
            .order_by(Coalesce("next_attempt_at", "created_at"), "pk")
            .values_list("pk", "next_attempt_at")[:5000]
        )
        for turn, (pk, due) in enumerate(waiting):
            found[pk] = max(now + timedelta(seconds=turn * interval), due or now)
    for dial in dials:
        if dial.status == DialStatus.PLACING:
            found[dial.pk] = now
        elif dial.status == DialStatus.QUEUED and dial.placed_at is not None:
            found[dial.pk] = dial.placed_at + timedelta(milliseconds=dial.queue_time_ms or 0)
    return found


def run_progress(run: BulkDialRun) -> RunProgress:
    """How far a bulk dial got: waiting for a worker, placed with Twilio, failed, canceled."""
    rows = list(run.dials.values_list("dial__status", "dial__placed_at"))
    waiting = sum(1 for status, _ in rows if status in WAITING_DIAL_STATUSES)
    failed = sum(1 for status, placed in rows if status == DialStatus.FAILED and placed is None)
    canceled = sum(1 for status, placed in rows if status == DialStatus.CANCELED and placed is None)
    return RunProgress(
        run=run,
        total=len(rows),
        waiting=waiting,
        placed=len(rows) - waiting - failed - canceled,
        failed=failed,
        canceled=canceled,
    )


def latest_run(conference: Conference) -> BulkDialRun | None:
    return conference.bulk_runs.select_related("started_by").order_by("-started_at", "-pk").first()


def invite_list(user: Viewer, conference: Conference) -> InviteList:
    """Every invitee with one attendance state, and the latest bulk dial's progress."""
    controls = controls_for(conference)
    invitees = list(
        conference.invitees.select_related("last_dial", "last_dial__account").order_by(
            "position", "pk"
        )
    )
    dials = [i.last_dial for i in invitees if i.last_dial is not None]
    readings = attendance_of(dials, dropped_within_seconds=controls.dropped_within_seconds)
    starts = expected_starts(dials)
    rows = []
    counts: dict[str, int] = {}
    for invitee in invitees:
        dial = invitee.last_dial
        reading = readings[dial.pk] if dial is not None else attendance(None)
        counts[reading.state] = counts.get(reading.state, 0) + 1
        rows.append(
            InviteeRow(
                invitee=invitee,
                number=masking.visible_invitee_number(user, invitee),
                attendance=reading,
                expected_start=starts.get(dial.pk) if dial is not None else None,
            )
        )
    run = latest_run(conference)
    return InviteList(
        rows=rows, progress=run_progress(run) if run is not None else None, counts=counts
    )


def caller_ids(conference: Conference) -> list[str]:
    """Numbers bulk dials may call from: the account's, else the configured ones."""
    return list(conference.account.caller_ids or settings.TWILIO_CALLER_IDS)


def used_labels(conference: Conference) -> set[str]:
    """Labels taken in this conference, by invitees or by any dial."""
    taken = set(conference.invitees.exclude(label="").values_list("label", flat=True))
    return taken | set(conference.dials.values_list("label", flat=True))


def final_or_left(dial: DialRequest) -> bool:
    return dial.status in FINAL_DIAL_STATUSES or (
        dial.status == DialStatus.IN_PROGRESS and dial.left_at is not None
    )
