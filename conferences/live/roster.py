"""The roster of a conference's participants.

Callbacks are the roster's source of truth. A conference the app did not start sends its
conference callbacks to whoever added its first participant, so for those the roster asks
Twilio for the participant list instead (and says so)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.text import capfirst

from conferences.audit.trail import AuditAction
from conferences.core.words import CONFERENCE_END_WORDS
from conferences.gateway import types as gateway_types
from conferences.live import participant_names, twilio_roster
from conferences.live.access import Viewer, controls_for
from conferences.live.attendance import (
    PENDING_FOR,
    REMOVED_VIA_API,
    Attendance,
    AttendanceReading,
    ParticipantFacts,
    attendance,
    attendance_of,
    participant_facts,
)
from conferences.models import (
    AuditEntry,
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceControls,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    Invitee,
    InviteeDial,
    MonitorMode,
)

logger = logging.getLogger(__name__)


# No conference callback this long after one of our calls was answered: the conference's
# callbacks go to whoever added its first participant, not to us.
CALLBACKS_ELSEWHERE_AFTER = timedelta(seconds=3)


# --- The roster -----------------------------------------------------------------------


class Stage:
    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    JOINED = "joined"
    ENDED = "ended"

    LABELS = {
        QUEUED: "Queued",
        DIALING: "Dialing",
        RINGING: "Ringing",
        JOINED: "In the conference",
        ENDED: "Ended",
    }


# The participant setting an accepted action should change, and the value it should show.
EXPECTED_EFFECT: dict[str, tuple[str, bool]] = {
    AuditAction.MUTE: ("muted", True),
    AuditAction.UNMUTE: ("muted", False),
    AuditAction.HOLD: ("hold", True),
    AuditAction.RESUME: ("hold", False),
    AuditAction.COACH: ("coaching", True),
    AuditAction.STOP_COACHING: ("coaching", False),
}
ACTION_NOUNS = {
    AuditAction.MUTE: "mute",
    AuditAction.UNMUTE: "unmute",
    AuditAction.HOLD: "hold",
    AuditAction.RESUME: "resume",
    AuditAction.COACH: "coaching",
    AuditAction.STOP_COACHING: "stop coaching",
    AuditAction.REMOVE: "removal",
}


@dataclass
class RosterEntry:
    """One participant on the roster, ours (a dial) or not."""

    call_sid: str
    label: str
    who: str
    stage: str
    dial: DialRequest | None = None
    invitee: Invitee | None = None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    coaching_whom: str = ""
    end_conference_on_exit: bool | None = None
    beep_on_exit: bool | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    ended: AttendanceReading | None = None
    pending: str = ""
    # An operator's own phone listening, whispering or barged in: how, in words ("" for
    # callers). Shown as such, and not counted among the participants.
    operator_mode: str = ""

    @property
    def key(self) -> str:
        return self.call_sid or f"dial-{self.dial.pk if self.dial else 0}"

    @property
    def stage_label(self) -> str:
        return Stage.LABELS[self.stage]

    @property
    def ours(self) -> bool:
        return self.dial is not None

    @property
    def connected(self) -> bool:
        return self.stage == Stage.JOINED

    @property
    def controllable(self) -> bool:
        """Twilio can act on it: it has a call and is ringing or in the conference."""
        return bool(self.call_sid) and self.stage in (Stage.DIALING, Stage.RINGING, Stage.JOINED)


@dataclass
class Roster:
    conference: Conference
    controls: ConferenceControls
    polling: bool  # the participant list comes from Twilio, not from callbacks
    live: bool
    now: list[RosterEntry] = field(default_factory=list)
    before: list[RosterEntry] = field(default_factory=list)
    error: str = ""
    ended_by: str = ""
    ended_why: str = ""

    def entry(self, call_sid: str) -> RosterEntry | None:
        return next((e for e in self.now + self.before if e.call_sid == call_sid), None)

    def coach_targets(self, coach_call_sid: str) -> list[RosterEntry]:
        return [e for e in self.now if e.connected and e.call_sid != coach_call_sid]

    @property
    def summary(self) -> str:
        """The roster in one sentence, for the aria-live status line."""
        if not self.live:
            return f"The conference has ended. {len(self.before)} took part or were dialed."
        counts: dict[str, int] = {}
        callers = [e for e in self.now if not e.operator_mode]
        for entry in callers:
            counts[entry.stage] = counts.get(entry.stage, 0) + 1
        parts = [f"{counts[stage]} {Stage.LABELS[stage].lower()}" for stage in sorted(counts)]
        operators = len(self.now) - len(callers)
        if operators:
            parts.append(f"{operators} operator{'s' if operators > 1 else ''} monitoring")
        held = sum(1 for e in callers if e.hold)
        muted = sum(1 for e in callers if e.muted)
        if held:
            parts.append(f"{held} on hold")
        if muted:
            parts.append(f"{muted} muted")
        return ("Participants: " + ", ".join(parts) + ".") if parts else "Nobody is in yet."

    @property
    def summary_key(self) -> str:
        """Changes when the summary does: the page sends it back, so the status line is
        only rewritten (and read out) when something changed."""
        return hashlib.sha256(self.summary.encode()).hexdigest()[:16]


def callbacks_go_elsewhere(conference: Conference, controls: ConferenceControls) -> bool:
    """Whether this conference's callbacks reach someone else (it was started elsewhere)."""
    if controls.callbacks_elsewhere is not None:
        return controls.callbacks_elsewhere
    if not conference.sid:
        return False
    if CallbackEvent.objects.filter(conference=conference, kind=CallbackKind.CONFERENCE).exists():
        return False
    answered_a_while_ago = timezone.now() - CALLBACKS_ELSEWHERE_AFTER
    return conference.dials.filter(answered_at__lt=answered_a_while_ago).exists()


def _dial_stage(dial: DialRequest) -> str:
    if dial.status in (DialStatus.PENDING, DialStatus.PLACING, DialStatus.QUEUED):
        return Stage.QUEUED
    if dial.status == DialStatus.INITIATED:
        return Stage.DIALING
    if dial.status == DialStatus.RINGING:
        return Stage.RINGING
    if dial.status == DialStatus.IN_PROGRESS and dial.left_at is None:
        return Stage.JOINED
    return Stage.ENDED


_TWILIO_PARTICIPANT_STAGES = {
    "queued": Stage.QUEUED,
    "connecting": Stage.DIALING,
    "ringing": Stage.RINGING,
    "connected": Stage.JOINED,
}


def _beep_on_exit(dial: DialRequest | None, actions: Sequence[AuditEntry]) -> bool | None:
    """Twilio never reports BeepOnExit: what we asked for last (accepted), else at dial time."""
    for entry in actions:
        value = entry.detail.get("change", {}).get("beep_on_exit")
        if entry.outcome == "ok" and value is not None:
            return bool(value)
    if dial is not None and "BeepOnExit" in dial.params:
        return str(dial.params["BeepOnExit"]) == "true"
    return None


def _pending(entry: RosterEntry, actions: Sequence[AuditEntry]) -> str:
    """The latest accepted action its callback has not confirmed yet, in words."""
    cutoff = timezone.now() - PENDING_FOR
    for action in actions:
        if action.at < cutoff:
            return ""
        if action.outcome != "ok":
            continue
        if action.action == AuditAction.REMOVE:
            return "" if entry.stage == Stage.ENDED else "Removal sent; waiting for Twilio"
        effect = EXPECTED_EFFECT.get(action.action)
        if effect is None:
            continue
        attribute, wanted = effect
        if getattr(entry, attribute) != wanted:
            return f"{ACTION_NOUNS[action.action].capitalize()} sent; waiting for Twilio"
        return ""
    return ""


def _recent_actions(conference: Conference) -> dict[str, list[AuditEntry]]:
    """Participant actions on this conference, newest first, by dial id or call SID."""
    actions: dict[str, list[AuditEntry]] = {}
    wanted = [*EXPECTED_EFFECT, AuditAction.REMOVE, AuditAction.MODIFY]
    for entry in AuditEntry.objects.filter(conference=conference, action__in=wanted).order_by(
        "-at", "-pk"
    )[:500]:
        key = f"dial-{entry.dial_id}" if entry.dial_id else str(entry.detail.get("call_sid", ""))
        actions.setdefault(key, []).append(entry)
    return actions


def roster(user: Viewer, conference: Conference) -> Roster:
    """Who is in the conference now and who was before, with what each can be asked."""
    controls = controls_for(conference)
    polling = callbacks_go_elsewhere(conference, controls)
    result = Roster(
        conference=conference,
        controls=controls,
        polling=polling,
        live=conference.status != ConferenceStatus.COMPLETED,
    )
    dials = list(
        conference.dials.select_related("operator", "operator_leg__user").order_by(
            "created_at", "pk"
        )
    )
    links = {
        link.dial_id: link.invitee
        for link in InviteeDial.objects.filter(dial__conference=conference).select_related(
            "invitee"
        )
    }
    facts = participant_facts(conference)
    actions = _recent_actions(conference)
    twilio_now: dict[str, gateway_types.LiveParticipant] | None = None
    if polling:
        polled = twilio_roster.poll(conference)
        twilio_now = polled.participants
        result.error = polled.error
        result.live = result.live and not polled.ended
    readings = attendance_of(
        [d for d in dials if _dial_stage(d) == Stage.ENDED],
        dropped_within_seconds=controls.dropped_within_seconds,
    )
    seen_call_sids: set[str] = set()
    for dial in dials:
        invitee = links.get(dial.pk)
        entry = RosterEntry(
            call_sid=dial.call_sid,
            label=dial.label,
            who=participant_names.participant_name(user, dial, invitee),
            stage=_dial_stage(dial),
            dial=dial,
            invitee=invitee,
            muted=bool(dial.muted),
            hold=bool(dial.hold),
            coaching=bool(dial.coaching),
            joined_at=dial.joined_at,
            left_at=dial.left_at,
        )
        leg = participant_names.operator_leg(dial)
        if leg is not None:
            entry.operator_mode = MonitorMode(leg.mode).label
        fact = facts.get(dial.call_sid) if dial.call_sid else None
        if fact is not None:
            entry.end_conference_on_exit = fact.end_conference_on_exit
            entry.coaching_whom = fact.call_sid_to_coach if fact.coaching else ""
        elif "EndConferenceOnExit" in dial.params:
            entry.end_conference_on_exit = str(dial.params["EndConferenceOnExit"]) == "true"
        own_actions = actions.get(f"dial-{dial.pk}", [])
        entry.beep_on_exit = _beep_on_exit(dial, own_actions)
        if twilio_now is not None and dial.call_sid in twilio_now:
            _take_twilio_state(entry, twilio_now[dial.call_sid])
        elif twilio_now is not None and entry.stage == Stage.JOINED and result.error == "":
            entry.stage = Stage.ENDED  # Twilio lists every live participant; not there: gone
        if entry.stage == Stage.ENDED:
            entry.ended = readings.get(dial.pk) or attendance(
                dial, dropped_within_seconds=controls.dropped_within_seconds
            )
            result.before.append(entry)
        else:
            entry.pending = "" if polling else _pending(entry, own_actions)
            result.now.append(entry)
        seen_call_sids.add(dial.call_sid)
    _add_others(result, facts, twilio_now, actions, seen_call_sids)
    names = {e.call_sid: e.who for e in result.now + result.before if e.call_sid}
    for entry in result.now:
        if entry.coaching_whom:
            entry.coaching_whom = names.get(entry.coaching_whom, entry.coaching_whom)
    _explain_end(result, names)
    return result


def _take_twilio_state(entry: RosterEntry, participant: gateway_types.LiveParticipant) -> None:
    entry.stage = _TWILIO_PARTICIPANT_STAGES.get(participant.status, Stage.ENDED)
    entry.muted = participant.muted
    entry.hold = participant.hold
    entry.coaching = participant.coaching
    entry.coaching_whom = participant.call_sid_to_coach if participant.coaching else ""
    entry.end_conference_on_exit = participant.end_conference_on_exit


def _add_others(
    result: Roster,
    facts: dict[str, ParticipantFacts],
    twilio_now: dict[str, gateway_types.LiveParticipant] | None,
    actions: dict[str, list[AuditEntry]],
    seen: set[str],
) -> None:
    """Participants the app did not dial: from Twilio's list, or from the callbacks."""
    if twilio_now is not None:
        for call_sid, participant in twilio_now.items():
            if call_sid in seen:
                continue
            entry = RosterEntry(
                call_sid=call_sid,
                label=participant.label,
                who=participant.label or call_sid,
                stage=Stage.JOINED,
            )
            _take_twilio_state(entry, participant)
            entry.beep_on_exit = _beep_on_exit(None, actions.get(call_sid, []))
            result.now.append(entry)
        return
    for call_sid, fact in facts.items():
        if call_sid in seen:
            continue
        entry = RosterEntry(
            call_sid=call_sid,
            label=fact.label,
            who=fact.label or call_sid,
            stage=Stage.JOINED if fact.present else Stage.ENDED,
            muted=fact.muted,
            hold=fact.hold,
            coaching=fact.coaching,
            coaching_whom=fact.call_sid_to_coach if fact.coaching else "",
            end_conference_on_exit=fact.end_conference_on_exit,
            joined_at=fact.joined_at,
            left_at=fact.left_at,
        )
        own_actions = actions.get(call_sid, [])
        entry.beep_on_exit = _beep_on_exit(None, own_actions)
        if entry.stage == Stage.ENDED or not result.live:
            entry.stage = Stage.ENDED
            removed = fact.leave_reason == REMOVED_VIA_API
            entry.ended = AttendanceReading(Attendance.REMOVED if removed else Attendance.LEFT)
            result.before.append(entry)
        else:
            entry.pending = _pending(entry, own_actions)
            result.now.append(entry)


def _explain_end(result: Roster, names: dict[str, str]) -> None:
    """Who or what ended the conference, and why, in words."""
    conference = result.conference
    if conference.status != ConferenceStatus.COMPLETED:
        return
    ended_here = (
        AuditEntry.objects.filter(
            conference=conference, action=AuditAction.END_CONFERENCE, outcome="ok"
        )
        .select_related("actor")
        .order_by("-at")
        .first()
    )
    if ended_here is not None and conference.reason_ended in ("", "conference-ended-via-api"):
        result.ended_by = f"{ended_here.actor or 'the app'} ended it from this page"
    elif conference.call_sid_ending:
        result.ended_by = names.get(conference.call_sid_ending, conference.call_sid_ending)
    result.ended_why = capfirst(
        CONFERENCE_END_WORDS.get(conference.reason_ended, conference.reason_ended)
    )
