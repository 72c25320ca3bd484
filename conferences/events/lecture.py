"""Lecture mode and the floor: mute every listener at once (and have listeners dialed
meanwhile join muted), unmute one listener and take it back. Each participant's change goes
through live's participant action, so each has Twilio's answer and its own audit entry."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.live import access as live_access
from conferences.live import roster as live_roster
from conferences.live.actions import (
    ActionResult,
    LiveActionRefused,
    ParticipantCommand,
    act_on_participant,
)
from conferences.models import Conference, ConferenceControls, InviteeRole, User


@dataclass(frozen=True)
class ParticipantAnswer:
    """What Twilio answered for one participant."""

    who: str
    call_sid: str
    ok: bool
    message: str


@dataclass(frozen=True)
class LectureReport:
    on: bool
    answers: list[ParticipantAnswer]

    @property
    def failed(self) -> int:
        return sum(1 for answer in self.answers if not answer.ok)

    @property
    def message(self) -> str:
        state = "Lecture mode is on" if self.on else "Lecture mode is off"
        if not self.answers:
            return f"{state}; no listener is in the conference right now."
        done = len(self.answers) - self.failed
        tail = f", {self.failed} refused (see below)" if self.failed else ""
        return f"{state}: {done} listeners muted{tail}."


def listeners_in(user: User, conference: Conference) -> list[live_roster.RosterEntry]:
    """Listeners on the invite list who are ringing or in the conference now."""
    return [
        entry
        for entry in live_roster.roster(user, conference).now
        if entry.invitee is not None
        and entry.invitee.role == InviteeRole.LISTENER
        and entry.controllable
    ]


def _set_lecture_mode(user: User, conference: Conference, on: bool) -> None:
    ConferenceControls.objects.update_or_create(
        conference=conference, defaults={"lecture_mode": on, "updated_by": user}
    )


def _answer(entry: live_roster.RosterEntry, result: ActionResult) -> ParticipantAnswer:
    return ParticipantAnswer(
        who=entry.who, call_sid=entry.call_sid, ok=result.ok, message=result.message
    )


def start_lecture(*, user: User, conference: Conference) -> LectureReport:
    """Mute every listener now; listeners dialed from now on join muted."""
    if not live_access.can_act(user, conference):
        raise PermissionDenied("Your role cannot run lecture mode in this conference.")
    _set_lecture_mode(user, conference, True)
    answers = []
    for entry in listeners_in(user, conference):
        try:
            result = act_on_participant(
                user=user,
                conference=conference,
                call_sid=entry.call_sid,
                command=ParticipantCommand("mute"),
            )
        except LiveActionRefused as refused:
            result = ActionResult(False, str(refused))
        answers.append(_answer(entry, result))
    report = LectureReport(on=True, answers=answers)
    _record(AuditAction.LECTURE_MODE, user, conference, report)
    return report


def end_lecture(*, user: User, conference: Conference) -> LectureReport:
    """Stop forcing listeners muted; who is muted stays so until given the floor."""
    if not live_access.can_act(user, conference):
        raise PermissionDenied("Your role cannot run lecture mode in this conference.")
    _set_lecture_mode(user, conference, False)
    report = LectureReport(on=False, answers=[])
    _record(AuditAction.LECTURE_MODE, user, conference, report)
    return report


def give_floor(
    *, user: User, conference: Conference, call_sid: str, give: bool
) -> ParticipantAnswer:
    """Unmute one listener (give the floor) or mute them again (take it back)."""
    entry = next((e for e in listeners_in(user, conference) if e.call_sid == call_sid), None)
    if entry is None:
        raise LiveActionRefused("That listener is not in the conference.")
    result = act_on_participant(
        user=user,
        conference=conference,
        call_sid=call_sid,
        command=ParticipantCommand("unmute" if give else "mute"),
    )
    audit.record(
        AuditAction.GIVE_FLOOR,
        actor=user,
        conference=conference,
        outcome="ok" if result.ok else "failed",
        detail={"call_sid": call_sid, "give": give, "answer": result.message},
    )
    return _answer(entry, result)


def _record(action: str, user: User, conference: Conference, report: LectureReport) -> None:
    audit.record(
        action,
        actor=user,
        conference=conference,
        outcome="ok" if not report.failed else "failed",
        detail={
            "on": report.on,
            "answers": [
                {"call_sid": a.call_sid, "ok": a.ok, "answer": a.message} for a in report.answers
            ],
        },
    )
