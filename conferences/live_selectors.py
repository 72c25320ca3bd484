"""Reads for the live conference pages: which conferences a user sees and may act on, the
roster of a conference's participants, its invite list with each invitee's attendance, and
the progress of a bulk dial.

Callbacks are the roster's source of truth. A conference the app did not start sends its
conference callbacks to whoever added its first participant, so for those the roster asks
Twilio for the participant list instead (and says so).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from conferences import accounts, masking, roles, twilio_gateway
from conferences.audit import AuditAction
from conferences.models import (
    FINAL_DIAL_STATUSES,
    AuditEntry,
    BulkDialRun,
    CallbackEvent,
    CallbackKind,
    Conference,
    ConferenceControls,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    Invitee,
    InviteeDial,
    User,
)

logger = logging.getLogger(__name__)

Viewer = User | AnonymousUser

# No conference callback this long after one of our calls was answered: the conference's
# callbacks go to whoever added its first participant, not to us.
CALLBACKS_ELSEWHERE_AFTER = timedelta(seconds=3)
TWILIO_ROSTER_CACHE_SECONDS = 1
# An action Twilio accepted shows as pending on the roster until its callback confirms it.
PENDING_FOR = timedelta(seconds=30)
LIVE_DIAL_STATUSES = frozenset(
    {
        DialStatus.PENDING,
        DialStatus.PLACING,
        DialStatus.QUEUED,
        DialStatus.INITIATED,
        DialStatus.RINGING,
        DialStatus.IN_PROGRESS,
    }
)
WAITING_DIAL_STATUSES = frozenset({DialStatus.PENDING, DialStatus.PLACING})
REMOVED_VIA_API = "participant_updated_via_api"
ENDED_WITH_CONFERENCE = frozenset({"conference_ended_via_api", "moderator_ended_conference"})
CONFERENCE_END_WORDS = {
    "conference-ended-via-api": "Ended through Twilio's API",
    "last-participant-left": "The last participant left",
    "last-participant-kicked": "The last participant was removed",
    "participant-with-end-conference-on-exit-left": (
        "A participant who ends the conference on exit left"
    ),
    "participant-with-end-conference-on-exit-kicked": (
        "A participant who ends the conference on exit was removed"
    ),
}


def live_timeout() -> float:
    """Roster reads and live actions wait less for Twilio than a worker does."""
    return min(float(settings.TWILIO_HTTP_TIMEOUT_SECONDS), 8.0)


# --- Who sees and acts on which conference --------------------------------------------


def visible_conferences(user: Viewer) -> QuerySet[Conference]:
    """Supervisors see every conference; operators those they dialed into or planned."""
    conferences = Conference.objects.select_related("account", "created_by")
    if not roles.user_can(user, "view_own_calls"):
        return conferences.none()
    if roles.user_can(user, "view_all_calls"):
        return conferences
    dialed_into = DialRequest.objects.filter(operator_id=user.pk).values("conference_id")
    return conferences.filter(Q(pk__in=dialed_into) | Q(created_by_id=user.pk))


def is_own_conference(user: Viewer, conference: Conference) -> bool:
    if not user.is_authenticated:
        return False
    return conference.created_by_id == user.pk or conference.dials.filter(operator=user).exists()


def can_act(user: Viewer, conference: Conference) -> bool:
    """Act on participants: any conference, or one the user dialed into (the role table)."""
    if roles.user_can(user, "act_on_any_conference"):
        return True
    return roles.user_can(user, "act_on_own_conference") and is_own_conference(user, conference)


def can_end(user: Viewer, conference: Conference) -> bool:
    return roles.user_can(user, "end_conference") and can_act(user, conference)


def can_bulk_dial(user: Viewer, conference: Conference) -> bool:
    return roles.user_can(user, "bulk_dial") and can_act(user, conference)


def can_dial_invitee(user: Viewer, conference: Conference) -> bool:
    return roles.user_can(user, "dial") and can_act(user, conference)


def controls_for(conference: Conference) -> ConferenceControls:
    """The conference's live settings; defaults (unsaved) when nobody changed them."""
    found = ConferenceControls.objects.filter(conference=conference).first()
    return found or ConferenceControls(conference=conference)


def hold_music_url(controls: ConferenceControls) -> str:
    return controls.hold_music_url or str(settings.HOLD_MUSIC_URL)


# --- The conference list --------------------------------------------------------------


@dataclass(frozen=True)
class ConferenceListing:
    live: Sequence[Conference]
    ended: Page[Any]


def conference_list(user: Viewer, *, page_number: str | int | None = None) -> ConferenceListing:
    """Live conferences first (all of them), then ended ones, newest first, paged."""
    live_dial = Q(dials__status__in=LIVE_DIAL_STATUSES, dials__left_at__isnull=True)
    conferences = visible_conferences(user).annotate(
        participants_now=Count("dials", filter=live_dial, distinct=True),
        dial_total=Count("dials", distinct=True),
        invitee_total=Count("invitees", distinct=True),
        ended_rank=Case(
            When(status=ConferenceStatus.COMPLETED, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
    )
    live = list(conferences.filter(ended_rank=0).order_by("-created_at", "-pk")[:200])
    ended = conferences.filter(ended_rank=1).order_by(
        Coalesce("ended_at", "created_at").desc(), "-pk"
    )
    return ConferenceListing(live=live, ended=Paginator(ended, 25).get_page(page_number or 1))


# --- What callbacks said about each participant ----------------------------------------


@dataclass
class ParticipantFacts:
    """One participant as the conference callbacks describe it, latest event winning."""

    call_sid: str
    label: str = ""
    joined_at: datetime | None = None
    left_at: datetime | None = None
    muted: bool = False
    hold: bool = False
    coaching: bool = False
    call_sid_to_coach: str = ""
    end_conference_on_exit: bool | None = None
    leave_reason: str = ""
    leave_call_status: str = ""

    @property
    def present(self) -> bool:
        return self.joined_at is not None and self.left_at is None


def _flag(event: CallbackEvent, name: str) -> bool | None:
    return {"true": True, "false": False}.get(event.param(name).lower())


def participant_facts(conference: Conference) -> dict[str, ParticipantFacts]:
    """Fold the conference's participant events, in Twilio's order, into one row per call."""
    events = (
        CallbackEvent.objects.filter(conference=conference, kind=CallbackKind.CONFERENCE)
        .exclude(call_sid="")
        .order_by(Coalesce("sequence_number", Value(0)), "received_at", "pk")
    )
    facts: dict[str, ParticipantFacts] = {}
    for event in events:
        row = facts.setdefault(event.call_sid, ParticipantFacts(call_sid=event.call_sid))
        moment = event.twilio_timestamp or event.received_at
        row.label = event.param("ParticipantLabel") or row.label
        if event.event == "participant-join":
            row.joined_at = row.joined_at or moment
        elif event.event == "participant-leave":
            row.left_at = moment
            row.leave_reason = event.param("ReasonParticipantLeft")
            row.leave_call_status = event.param("ParticipantCallStatus")
        for name, attribute in (("Muted", "muted"), ("Hold", "hold"), ("Coaching", "coaching")):
            value = _flag(event, name)
            if value is not None:
                setattr(row, attribute, value)
        if row.coaching:
            row.call_sid_to_coach = event.param("CallSidToCoach") or row.call_sid_to_coach
        end_on_exit = _flag(event, "EndConferenceOnExit")
        if end_on_exit is not None:
            row.end_conference_on_exit = end_on_exit
    return facts


# --- Attendance: one word per invitee (and per ended participant) ----------------------


class Attendance:
    """An invitee's state at a glance (derived, never stored)."""

    NOT_DIALED = "not-dialed"
    QUEUED = "queued"
    RINGING = "ringing"
    IN_CONFERENCE = "in-conference"
    LEFT = "left"
    REMOVED = "removed"
    DROPPED = "dropped"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    FAILED = "failed"

    LABELS = {
        NOT_DIALED: "Not dialed",
        QUEUED: "Queued",
        RINGING: "Ringing",
        IN_CONFERENCE: "In the conference",
        LEFT: "Left",
        REMOVED: "Removed",
        DROPPED: "Dropped",
        BUSY: "Busy",
        NO_ANSWER: "No answer",
        VOICEMAIL: "Voicemail",
        FAILED: "Failed",
    }
    # Still on their way in or in: "Dial all missing" leaves these alone.
    ACTIVE = frozenset({QUEUED, RINGING, IN_CONFERENCE})


@dataclass(frozen=True)
class AttendanceReading:
    state: str
    detail: str = ""

    @property
    def label(self) -> str:
        return Attendance.LABELS[self.state]

    @property
    def active(self) -> bool:
        return self.state in Attendance.ACTIVE


def is_machine(answered_by: str) -> bool:
    return answered_by.startswith("machine") or answered_by == "fax"


def _seconds(value: timedelta) -> int:
    return max(0, int(value.total_seconds()))


def attendance(
    dial: DialRequest | None,
    *,
    removed_by_operator: bool = False,
    dropped_within_seconds: int = 60,
    leave_call_status: str = "",
) -> AttendanceReading:
    """Where a dial left its callee, told from the call's callbacks and our own actions."""
    if dial is None:
        return AttendanceReading(Attendance.NOT_DIALED)
    if is_machine(dial.answered_by):
        what = "a fax machine" if dial.answered_by == "fax" else "an answering machine"
        return AttendanceReading(Attendance.VOICEMAIL, f"answered by {what}")
    status = dial.status
    if status in (DialStatus.PENDING, DialStatus.PLACING, DialStatus.QUEUED):
        return AttendanceReading(Attendance.QUEUED)
    if status in (DialStatus.INITIATED, DialStatus.RINGING):
        return AttendanceReading(Attendance.RINGING)
    if status == DialStatus.IN_PROGRESS and dial.left_at is None:
        return AttendanceReading(Attendance.IN_CONFERENCE)
    if status == DialStatus.BUSY:
        return AttendanceReading(Attendance.BUSY)
    if status == DialStatus.NO_ANSWER:
        return AttendanceReading(Attendance.NO_ANSWER)
    if status == DialStatus.FAILED:
        return AttendanceReading(Attendance.FAILED, dial.error_message or dial.failure_reason)
    if status == DialStatus.CANCELED:
        if removed_by_operator or dial.end_reason == REMOVED_VIA_API:
            return AttendanceReading(Attendance.REMOVED, "stopped before answering")
        if dial.placed_at is None:
            return AttendanceReading(Attendance.NOT_DIALED, "canceled before it started")
        return AttendanceReading(Attendance.NO_ANSWER, "the call was canceled while ringing")
    if dial.answered_at is None and dial.joined_at is None:
        return AttendanceReading(Attendance.NO_ANSWER)
    return _left_how(dial, removed_by_operator, dropped_within_seconds, leave_call_status)


def _left_how(
    dial: DialRequest, removed_by_operator: bool, dropped_within: int, leave_call_status: str
) -> AttendanceReading:
    """Removed, dropped or left: an operator's removal, then how the call itself ended."""
    if removed_by_operator or dial.end_reason == REMOVED_VIA_API:
        return AttendanceReading(Attendance.REMOVED)
    if dial.end_reason in ENDED_WITH_CONFERENCE:
        return AttendanceReading(Attendance.LEFT, "when the conference ended")
    if leave_call_status not in ("", "completed", "in-progress"):
        return AttendanceReading(Attendance.DROPPED, f"the call ended {leave_call_status}")
    if dial.sip_response_code is not None and dial.sip_response_code >= 400:
        return AttendanceReading(Attendance.DROPPED, f"SIP {dial.sip_response_code}")
    seconds = dial.call_duration_seconds
    if seconds is None and dial.joined_at and dial.left_at:
        seconds = _seconds(dial.left_at - dial.joined_at)
    if seconds is not None and seconds < dropped_within:
        return AttendanceReading(Attendance.DROPPED, f"hung up after {seconds} s")
    return AttendanceReading(Attendance.LEFT, f"after {seconds} s" if seconds is not None else "")


def removed_dial_ids(dial_ids: Iterable[int]) -> set[int]:
    """Dials an operator (or the voicemail rule) removed successfully."""
    return set(
        AuditEntry.objects.filter(
            dial_id__in=list(dial_ids), action=AuditAction.REMOVE, outcome="ok"
        ).values_list("dial_id", flat=True)
    )


def leave_call_statuses(dial_ids: Iterable[int]) -> dict[int, str]:
    """ParticipantCallStatus of each dial's participant-leave callback."""
    found: dict[int, str] = {}
    events = CallbackEvent.objects.filter(
        dial_id__in=list(dial_ids), kind=CallbackKind.CONFERENCE, event="participant-leave"
    ).only("dial_id", "params")
    for event in events:
        if event.dial_id is not None:
            found[event.dial_id] = event.param("ParticipantCallStatus")
    return found


def attendance_of(
    dials: Sequence[DialRequest], *, dropped_within_seconds: int
) -> dict[int, AttendanceReading]:
    """Attendance of several dials with two queries for the facts it needs."""
    ids = [dial.pk for dial in dials]
    removed = removed_dial_ids(ids)
    leave_statuses = leave_call_statuses(ids)
    return {
        dial.pk: attendance(
            dial,
            removed_by_operator=dial.pk in removed,
            dropped_within_seconds=dropped_within_seconds,
            leave_call_status=leave_statuses.get(dial.pk, ""),
        )
        for dial in dials
    }


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
        for entry in self.now:
            counts[entry.stage] = counts.get(entry.stage, 0) + 1
        parts = [f"{counts[stage]} {Stage.LABELS[stage].lower()}" for stage in sorted(counts)]
        held = sum(1 for e in self.now if e.hold)
        muted = sum(1 for e in self.now if e.muted)
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


def _who(user: Viewer, dial: DialRequest, invitee: Invitee | None) -> str:
    number = masking.visible_number(user, dial.to_number, placed_by_id=dial.operator_id)
    if invitee is not None and invitee.added_by_id == getattr(user, "pk", None):
        number = dial.to_number
    return f"{invitee.name} ({number})" if invitee else number


def roster_name(user: Viewer, conference: Conference, call_sid: str) -> str:
    """How the roster names the participant on this call ("" when it does not know it)."""
    dial = conference.dials.filter(call_sid=call_sid).first() if call_sid else None
    if dial is not None:
        link = InviteeDial.objects.filter(dial=dial).select_related("invitee").first()
        return _who(user, dial, link.invitee if link else None)
    fact = participant_facts(conference).get(call_sid)
    return fact.label if fact is not None else ""


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
    dials = list(conference.dials.select_related("operator").order_by("created_at", "pk"))
    links = {
        link.dial_id: link.invitee
        for link in InviteeDial.objects.filter(dial__conference=conference).select_related(
            "invitee"
        )
    }
    facts = participant_facts(conference)
    actions = _recent_actions(conference)
    twilio_now: dict[str, twilio_gateway.LiveParticipant] | None = None
    if polling:
        twilio_now = _poll_twilio(conference, result)
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
            who=_who(user, dial, invitee),
            stage=_dial_stage(dial),
            dial=dial,
            invitee=invitee,
            muted=bool(dial.muted),
            hold=bool(dial.hold),
            coaching=bool(dial.coaching),
            joined_at=dial.joined_at,
            left_at=dial.left_at,
        )
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


def _twilio_roster_key(conference: Conference) -> str:
    return f"live:twilio-roster:{conference.account_id}:{conference.sid}"


def forget_twilio_roster(conference: Conference) -> None:
    """After an action, the next roster shows Twilio's answer, not the list from before."""
    cache.delete(_twilio_roster_key(conference))


def _poll_twilio(
    conference: Conference, result: Roster
) -> dict[str, twilio_gateway.LiveParticipant] | None:
    """Twilio's participant list now (and whether the conference still runs)."""
    if not conference.sid:
        return None
    key = _twilio_roster_key(conference)
    cached = cache.get(key)
    if cached is not None:
        found, participants = cached
    else:
        creds = accounts.credentials(conference.account)
        try:
            found = twilio_gateway.fetch_conference(creds, conference.sid, timeout=live_timeout())
            participants = twilio_gateway.list_participants(
                creds, conference.sid, timeout=live_timeout()
            )
        except twilio_gateway.GatewayError as error:
            logger.warning("roster of %s not polled: %s", conference.pk, error.message)
            result.error = f"Could not ask Twilio for the participant list: {error.message}"
            return None
        # Everyone watching this conference polls every 2 s: ask Twilio once for all of them.
        cache.set(key, (found, participants), TWILIO_ROSTER_CACHE_SECONDS)
    if found is not None and found.status == ConferenceStatus.COMPLETED:
        result.live = False
    return {participant.call_sid: participant for participant in participants}


def _take_twilio_state(entry: RosterEntry, participant: twilio_gateway.LiveParticipant) -> None:
    entry.stage = _TWILIO_PARTICIPANT_STAGES.get(participant.status, Stage.ENDED)
    entry.muted = participant.muted
    entry.hold = participant.hold
    entry.coaching = participant.coaching
    entry.coaching_whom = participant.call_sid_to_coach if participant.coaching else ""
    entry.end_conference_on_exit = participant.end_conference_on_exit


def _add_others(
    result: Roster,
    facts: dict[str, ParticipantFacts],
    twilio_now: dict[str, twilio_gateway.LiveParticipant] | None,
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
    result.ended_why = CONFERENCE_END_WORDS.get(conference.reason_ended, conference.reason_ended)


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
                number=_invitee_number(user, invitee),
                attendance=reading,
                expected_start=starts.get(dial.pk) if dial is not None else None,
            )
        )
    run = latest_run(conference)
    return InviteList(
        rows=rows, progress=run_progress(run) if run is not None else None, counts=counts
    )


def _invitee_number(user: Viewer, invitee: Invitee) -> str:
    if invitee.added_by_id is not None and invitee.added_by_id == getattr(user, "pk", None):
        return invitee.number
    placed_by = invitee.last_dial.operator_id if invitee.last_dial is not None else None
    return masking.visible_number(user, invitee.number, placed_by_id=placed_by)


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
