"""What the API answers, as ninja schemas (the OpenAPI document is generated from these),
and the functions that fill them from the selectors' results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema

from conferences.history.rows import HistoryRow
from conferences.history.story import DialStory, TimelineEntry
from conferences.live.invite_import import InvitePreview
from conferences.live.invite_list import InviteList, RunProgress
from conferences.live.roster import Roster, RosterEntry
from conferences.models import Conference, DialAttempt, DialRequest

# --- Dials --------------------------------------------------------------------------------


class ConferenceRef(Schema):
    id: int
    name: str
    sid: str | None


class DialOut(Schema):
    """One dial; numbers are masked unless the caller's role may see them."""

    id: int
    status: str
    conference: ConferenceRef
    operator: str
    to_number: str
    from_number: str
    label: str
    call_sid: str
    created_at: datetime
    placed_at: datetime | None
    answered_by: str
    joined_at: datetime | None
    left_at: datetime | None
    ended_at: datetime | None
    end_reason: str
    error_code: int | None
    error_message: str
    attempt_count: int


class AttemptOut(Schema):
    number: int
    started_at: datetime
    outcome: str
    decided_by: str
    http_status: int | None
    error_code: int | None
    latency_ms: int | None
    detail: str


class TimelineOut(Schema):
    at: datetime
    source: str  # "attempt", "callback" or "audit"
    kind: str
    event: str
    summary: str
    params: dict[str, str]


class DialDetailOut(DialOut):
    """One dial's whole story: status, every attempt and the timeline of callbacks."""

    verdict: str
    attempts: list[AttemptOut]
    timeline: list[TimelineOut]


class DialPageOut(Schema):
    items: list[DialOut]
    next_cursor: str | None


def _dial_fields(dial: DialRequest, *, conference: ConferenceRef, operator: str) -> dict[str, Any]:
    return {
        "id": dial.pk,
        "status": dial.status,
        "conference": conference,
        "operator": operator,
        "label": dial.label,
        "call_sid": dial.call_sid,
        "created_at": dial.created_at,
        "placed_at": dial.placed_at,
        "answered_by": dial.answered_by,
        "joined_at": dial.joined_at,
        "left_at": dial.left_at,
        "ended_at": dial.ended_at,
        "end_reason": dial.end_reason,
        "error_code": dial.error_code,
        "error_message": dial.error_message,
    }


def dial_row_out(row: HistoryRow) -> DialOut:
    conference = ConferenceRef(
        id=row.dial.conference_id, name=row.conference_name, sid=row.conference_sid or None
    )
    return DialOut(
        **_dial_fields(row.dial, conference=conference, operator=row.operator_name),
        to_number=row.to_display,
        from_number=row.from_display,
        attempt_count=row.attempt_count,
    )


def _attempt_out(attempt: DialAttempt) -> AttemptOut:
    return AttemptOut(
        number=attempt.number,
        started_at=attempt.started_at,
        outcome=attempt.outcome,
        decided_by=attempt.decided_by,
        http_status=attempt.http_status,
        error_code=attempt.error_code,
        latency_ms=attempt.latency_ms,
        detail=attempt.detail,
    )


def _timeline_out(entry: TimelineEntry) -> TimelineOut:
    return TimelineOut(
        at=entry.at,
        source=entry.source,
        kind=entry.kind,
        event=entry.event,
        summary=entry.summary,
        params=dict(entry.raw_params or entry.key_params),
    )


def dial_story_out(story: DialStory) -> DialDetailOut:
    dial = story.dial
    conference = ConferenceRef(
        id=dial.conference_id, name=dial.conference.friendly_name, sid=dial.conference.sid
    )
    return DialDetailOut(
        **_dial_fields(dial, conference=conference, operator=dial.operator.get_username()),
        to_number=story.to_display,
        from_number=story.from_display,
        attempt_count=len(story.attempts),
        verdict=story.verdict,
        attempts=[_attempt_out(attempt) for attempt in story.attempts],
        timeline=[_timeline_out(entry) for entry in story.timeline],
    )


# --- Conferences --------------------------------------------------------------------------


class ConferenceOut(Schema):
    id: int
    name: str
    sid: str | None
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class ConferencePageOut(Schema):
    live: list[ConferenceOut]
    ended: list[ConferenceOut]
    next_page: int | None


class ParticipantOut(Schema):
    call_sid: str
    label: str
    who: str
    stage: str  # queued, dialing, ringing, joined, ended
    dial_id: int | None
    muted: bool
    hold: bool
    coaching: bool
    joined_at: datetime | None
    left_at: datetime | None
    pending: str


class RosterOut(Schema):
    conference: ConferenceOut
    live: bool
    summary: str
    participants: list[ParticipantOut]
    earlier: list[ParticipantOut]
    error: str


class ActionOut(Schema):
    ok: bool
    message: str


def conference_out(conference: Conference) -> ConferenceOut:
    return ConferenceOut(
        id=conference.pk,
        name=conference.friendly_name,
        sid=conference.sid,
        status=conference.status,
        created_at=conference.created_at,
        started_at=conference.started_at,
        ended_at=conference.ended_at,
    )


def _participant_out(entry: RosterEntry) -> ParticipantOut:
    return ParticipantOut(
        call_sid=entry.call_sid,
        label=entry.label,
        who=entry.who,
        stage=entry.stage,
        dial_id=entry.dial.pk if entry.dial is not None else None,
        muted=entry.muted,
        hold=entry.hold,
        coaching=entry.coaching,
        joined_at=entry.joined_at,
        left_at=entry.left_at,
        pending=entry.pending,
    )


def roster_out(roster: Roster) -> RosterOut:
    return RosterOut(
        conference=conference_out(roster.conference),
        live=roster.live,
        summary=roster.summary,
        participants=[_participant_out(entry) for entry in roster.now],
        earlier=[_participant_out(entry) for entry in roster.before],
        error=roster.error,
    )


# --- Invite lists -------------------------------------------------------------------------


class InviteeIn(Schema):
    number: str
    name: str
    label: str = ""
    preset: str = ""


class InviteeListIn(Schema):
    invitees: list[InviteeIn]


class CheckedRowOut(Schema):
    line: int
    number: str
    name: str
    label: str
    preset: str
    ok: bool
    problems: list[str]
    warnings: list[str]


class CheckOut(Schema):
    """An invite list as it would be stored: every row with its problems."""

    ok: bool
    problems: list[str]
    rows: list[CheckedRowOut]


class InviteesChangedOut(Schema):
    added: int
    removed: int
    check: CheckOut


class InviteeOut(Schema):
    id: int
    number: str
    name: str
    label: str
    preset: str
    state: str  # not-dialed, queued, ringing, in-conference, left, dropped, busy, …
    dial_id: int | None
    dial_status: str | None


class ProgressOut(Schema):
    run_id: int
    total: int
    waiting: int
    placed: int
    failed: int
    canceled: int
    finished: bool
    canceled_at: datetime | None


class InviteListOut(Schema):
    invitees: list[InviteeOut]
    counts: dict[str, int]
    progress: ProgressOut | None


class DialAllIn(Schema):
    caller_id: str


class CanceledOut(Schema):
    canceled: int
    progress: ProgressOut


def check_out(preview: InvitePreview) -> CheckOut:
    return CheckOut(
        ok=not preview.problems and not preview.bad,
        problems=list(preview.problems),
        rows=[
            CheckedRowOut(
                line=row.line,
                number=row.number,
                name=row.name,
                label=row.label,
                preset=row.preset,
                ok=row.ok,
                problems=list(row.problems),
                warnings=list(row.warnings),
            )
            for row in preview.rows
        ],
    )


def progress_out(progress: RunProgress) -> ProgressOut:
    return ProgressOut(
        run_id=progress.run.pk,
        total=progress.total,
        waiting=progress.waiting,
        placed=progress.placed,
        failed=progress.failed,
        canceled=progress.canceled,
        finished=progress.finished,
        canceled_at=progress.run.canceled_at,
    )


def invite_list_out(invites: InviteList) -> InviteListOut:
    return InviteListOut(
        invitees=[
            InviteeOut(
                id=row.invitee.pk,
                number=row.number,
                name=row.invitee.name,
                label=row.invitee.label,
                preset=row.invitee.preset_name,
                state=row.attendance.state,
                dial_id=row.dial.pk if row.dial is not None else None,
                dial_status=row.dial.status if row.dial is not None else None,
            )
            for row in invites.rows
        ],
        counts=invites.counts,
        progress=progress_out(invites.progress) if invites.progress is not None else None,
    )
