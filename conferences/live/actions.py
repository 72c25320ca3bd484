"""Acting on a live conference and its participants: mute, hold, coach, remove, announce, end.

Every action goes through the gateway and leaves an audit entry linked to the dial it
touched, so it shows on that call's timeline."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from conferences.accounts import roles, twilio_accounts
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.core.sids import CALL_SID
from conferences.dialing import submission as dial_submission
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.live import access as live_access
from conferences.live import attendance, participant_names, twilio_roster
from conferences.live.access import live_timeout
from conferences.models import (
    AuditEntry,
    Conference,
    ConferenceControls,
    ConferenceStatus,
    DialRequest,
    User,
)

logger = logging.getLogger(__name__)

Actor = User | AnonymousUser


class LiveActionRefused(Exception):
    """The action cannot be done as asked; the message says why, in the product's words."""


# --- Permissions ----------------------------------------------------------------------


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(f"Your role cannot {what} in this conference.")


# --- Twilio's errors in words ---------------------------------------------------------

ERROR_WORDS: dict[int, str] = {
    20404: "{who} is no longer in the conference",
    21220: "the call is not in a state that allows this (it may be ending, or not answered yet)",
    20429: (
        "Twilio is handling too many requests for this account right now; nothing changed, "
        "try again in a moment"
    ),
    16022: "the conference has already ended",
    16028: "the participant to coach is not connected to the conference",
    20003: "Twilio refused this account's credentials",
}


def explain(error: errors.GatewayError, who: str) -> str:
    """A Twilio failure as an operator reads it, with Twilio's code for support."""
    words = ERROR_WORDS.get(error.code or 0)
    if words is None and error.status == 404:
        words = ERROR_WORDS[20404]
    if words is None and error.outcome_unknown:
        words = "Twilio did not answer in time; the roster shows whether it happened"
    if words is None and error.code is None and error.status is None:
        words = "Twilio could not be reached; nothing changed"
    if words is None:
        words = f"Twilio refused it: {error.message}"
    code = f" (Twilio error {error.code})" if error.code else ""
    return words.format(who=who) + code


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    entry: AuditEntry | None = None
    # Failed because Twilio was unreachable or busy (429, 5xx, no answer): trying again
    # later may succeed. A failure without it is Twilio refusing the request as it stands.
    retryable: bool = False


# --- Participant actions --------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantCommand:
    """What an operator asked to do to one participant."""

    action: str  # one of PARTICIPANT_ACTIONS
    call_sid_to_coach: str = ""
    end_conference_on_exit: bool | None = None
    beep_on_exit: bool | None = None


# action -> (audit action, what the operator asked, in words: "Could not <verb> Alice")
PARTICIPANT_ACTIONS: dict[str, tuple[str, str]] = {
    "mute": (AuditAction.MUTE, "mute"),
    "unmute": (AuditAction.UNMUTE, "unmute"),
    "hold": (AuditAction.HOLD, "put on hold"),
    "resume": (AuditAction.RESUME, "take off hold"),
    "coach": (AuditAction.COACH, "start coaching with"),
    "stop-coaching": (AuditAction.STOP_COACHING, "stop coaching with"),
    "modify": (AuditAction.MODIFY, "change the exit settings of"),
    "remove": (AuditAction.REMOVE, "remove"),
}
DONE_WORDS = {
    "mute": "Muting {who}",
    "unmute": "Unmuting {who}",
    "hold": "Putting {who} on hold",
    "resume": "Taking {who} off hold",
    "coach": "{who} starts coaching",
    "stop-coaching": "{who} stops coaching",
    "modify": "Exit settings of {who} changed",
    "remove": "Removing {who}",
}


def _change_for(
    command: ParticipantCommand, conference: Conference
) -> gateway_types.ParticipantChange:
    action = command.action
    if action in ("mute", "unmute"):
        return gateway_types.ParticipantChange(muted=action == "mute")
    if action == "hold":
        music = live_access.hold_music_url(live_access.controls_for(conference))
        if music:
            return gateway_types.ParticipantChange(hold=True, hold_url=music, hold_method="GET")
        return gateway_types.ParticipantChange(hold=True)
    if action == "resume":
        return gateway_types.ParticipantChange(hold=False)
    if action == "coach":
        if not CALL_SID.fullmatch(command.call_sid_to_coach):
            raise LiveActionRefused("Choose whom to coach.")
        return gateway_types.ParticipantChange(
            coaching=True, call_sid_to_coach=command.call_sid_to_coach
        )
    if action == "stop-coaching":
        return gateway_types.ParticipantChange(coaching=False)
    if action == "modify":
        if command.end_conference_on_exit is None and command.beep_on_exit is None:
            raise LiveActionRefused("Choose an exit setting to change.")
        return gateway_types.ParticipantChange(
            end_conference_on_exit=command.end_conference_on_exit,
            beep_on_exit=command.beep_on_exit,
        )
    raise LiveActionRefused(f"“{action}” is not something the roster can do.")


def participant_name(user: Actor, conference: Conference, call_sid: str) -> str:
    """How the roster calls this participant (masked number, invitee name or label)."""
    entry = participant_names.roster_name(user, conference, call_sid)
    return entry or call_sid


def act_on_participant(
    *, user: Actor, conference: Conference, call_sid: str, command: ParticipantCommand
) -> ActionResult:
    """Mute, hold, coach, change exit settings of, or remove one participant, via Twilio."""
    _require(live_access.can_act(user, conference), "act on participants")
    if command.action not in PARTICIPANT_ACTIONS:
        raise LiveActionRefused(f"“{command.action}” is not something the roster can do.")
    if not CALL_SID.fullmatch(call_sid):
        raise LiveActionRefused("That is not a participant's call.")
    if not conference.sid:
        raise LiveActionRefused("Twilio has not started this conference yet.")
    audit_action, verb = PARTICIPANT_ACTIONS[command.action]
    who = participant_name(user, conference, call_sid)
    dial = conference.dials.filter(call_sid=call_sid).first()
    change = None if command.action == "remove" else _change_for(command, conference)
    detail: dict[str, Any] = {"call_sid": call_sid}
    if change is not None:
        detail["change"] = {k: v for k, v in change.sdk_kwargs().items() if k != "hold_url"}
    creds = twilio_accounts.credentials(conference.account)
    try:
        if change is None:
            gateway.delete_participant(creds, conference.sid, call_sid, timeout=live_timeout())
        else:
            gateway.update_participant(
                creds, conference.sid, call_sid, change, timeout=live_timeout()
            )
    except errors.GatewayError as error:
        entry = _record(audit_action, user, conference, dial, call_sid, detail, error)
        return ActionResult(
            False, f"Could not {verb} {who}: {explain(error, who)}.", entry, error.retryable
        )
    finally:
        twilio_roster.forget_twilio_roster(conference)
    entry = _record(audit_action, user, conference, dial, call_sid, detail, None)
    done = DONE_WORDS[command.action].format(who=who)
    return ActionResult(True, f"{done}: Twilio accepted it.", entry)


def _record(
    action: str,
    user: Actor | None,
    conference: Conference,
    dial: DialRequest | None,
    call_sid: str,
    detail: dict[str, Any],
    error: errors.GatewayError | None,
) -> AuditEntry:
    if error is not None:
        detail = {**detail, "error_code": error.code, "error": error.message[:500]}
    return audit.record(
        action,
        actor=user,
        dial=dial,
        conference=conference,
        target_type="" if dial is not None else "participant",
        target_id="" if dial is not None else call_sid,
        outcome="ok" if error is None else "failed",
        detail=detail,
    )


# --- Conference actions ---------------------------------------------------------------


def _live_dials(conference: Conference) -> list[DialRequest]:
    return list(
        conference.dials.filter(status__in=attendance.LIVE_DIAL_STATUSES, left_at__isnull=True)
    )


def _record_for_everyone(
    action: str,
    user: Actor,
    conference: Conference,
    detail: dict[str, Any],
    error: errors.GatewayError | None,
) -> AuditEntry:
    """One entry for the conference and one on the timeline of each call it reached."""
    outcome = "ok" if error is None else "failed"
    if error is not None:
        detail = {**detail, "error_code": error.code, "error": error.message[:500]}
    entry = audit.record(action, actor=user, conference=conference, outcome=outcome, detail=detail)
    for dial in _live_dials(conference):
        audit.record(
            action,
            actor=user,
            dial=dial,
            outcome=outcome,
            detail={**detail, "for": "everyone in the conference"},
        )
    return entry


def announce(*, user: Actor, conference: Conference, url: str, method: str = "GET") -> ActionResult:
    """Play an announcement (a recording or TwiML at `url`) to everyone in the conference."""
    _require(live_access.can_act(user, conference), "make announcements")
    if not conference.sid or conference.status == ConferenceStatus.COMPLETED:
        raise LiveActionRefused("Announcements need a running conference.")
    detail = {"announce_url": url, "announce_method": method}
    try:
        gateway.update_conference(
            twilio_accounts.credentials(conference.account),
            conference.sid,
            announce_url=url,
            announce_method=method,
            timeout=live_timeout(),
        )
    except errors.GatewayError as error:
        entry = _record_for_everyone(AuditAction.ANNOUNCE, user, conference, detail, error)
        return ActionResult(
            False,
            f"Could not play the announcement: {explain(error, 'the participant')}.",
            entry,
            error.retryable,
        )
    entry = _record_for_everyone(AuditAction.ANNOUNCE, user, conference, detail, None)
    return ActionResult(True, "Announcement sent: Twilio plays it to everyone.", entry)


def end_conference(*, user: Actor, conference: Conference) -> ActionResult:
    """End the conference for everyone (Status=completed): every call in it hangs up."""
    _require(live_access.can_end(user, conference), "end the conference")
    if not conference.sid:
        raise LiveActionRefused("Twilio has not started this conference yet.")
    try:
        gateway.update_conference(
            twilio_accounts.credentials(conference.account),
            conference.sid,
            status="completed",
            timeout=live_timeout(),
        )
    except errors.GatewayError as error:
        entry = _record_for_everyone(AuditAction.END_CONFERENCE, user, conference, {}, error)
        return ActionResult(
            False,
            f"Could not end the conference: {explain(error, 'the participant')}.",
            entry,
            error.retryable,
        )
    entry = _record_for_everyone(AuditAction.END_CONFERENCE, user, conference, {}, None)
    return ActionResult(True, "Ending the conference for everyone: Twilio accepted it.", entry)


@dataclass(frozen=True)
class ControlValues:
    hold_music_url: str
    redial_dropped: bool
    redial_max: int
    dropped_within_seconds: int
    remove_voicemail: bool
    callbacks_elsewhere: bool | None


def update_controls(
    *, user: Actor, conference: Conference, values: ControlValues
) -> ConferenceControls:
    """Save the conference's live settings (hold music, redials, voicemail, roster source)."""
    _require(live_access.can_act(user, conference), "change settings")
    fields = {
        "hold_music_url": values.hold_music_url,
        "redial_dropped": values.redial_dropped,
        "redial_max": values.redial_max,
        "dropped_within_seconds": values.dropped_within_seconds,
        "remove_voicemail": values.remove_voicemail,
        "callbacks_elsewhere": values.callbacks_elsewhere,
        "updated_by": user if isinstance(user, User) else None,
    }
    controls, _ = ConferenceControls.objects.update_or_create(
        conference=conference, defaults=fields
    )
    audit.record(
        AuditAction.MODIFY,
        actor=user,
        conference=conference,
        detail={"settings": {k: v for k, v in fields.items() if k != "updated_by"}},
    )
    return controls


def open_conference(*, user: Actor, friendly_name: str) -> Conference:
    """The open conference of that name the user may see, or a new one planned by them."""
    allowed = roles.user_can(user, "dial") or roles.user_can(user, "bulk_dial")
    _require(allowed, "plan conferences")
    name = friendly_name.strip()
    account = twilio_accounts.default_account()
    if not isinstance(user, User):
        raise LiveActionRefused("Sign in to plan conferences.")
    with transaction.atomic():
        try:
            return dial_submission.conference_for(account, name, user)
        except dial_submission.ConferenceRefused as refused:
            raise LiveActionRefused(str(refused)) from refused
