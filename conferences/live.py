"""Services for live conferences: act on participants and on the conference, keep invite
lists, dial them (all missing at once, or one again), and the sweep that removes
answering machines and redials dropped invitees.

Every action goes through the gateway and leaves an audit entry linked to the dial it
touched, so it shows on that call's timeline. Never dialing an invitee twice rests on the
database: the invitee row is locked while its next dial is decided, and (invitee,
attempt) is unique, so two presses of "Dial all missing" cannot both dial one person.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from conferences import accounts, audit, live_selectors, roles, services, twilio_gateway
from conferences.audit import AuditAction
from conferences.forms import normalise_phone_number
from conferences.live_selectors import Attendance, live_timeout
from conferences.models import (
    AuditEntry,
    BulkDialRun,
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


def explain(error: twilio_gateway.GatewayError, who: str) -> str:
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


# --- Participant actions --------------------------------------------------------------

CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")


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
) -> twilio_gateway.ParticipantChange:
    action = command.action
    if action in ("mute", "unmute"):
        return twilio_gateway.ParticipantChange(muted=action == "mute")
    if action == "hold":
        music = live_selectors.hold_music_url(live_selectors.controls_for(conference))
        if music:
            return twilio_gateway.ParticipantChange(hold=True, hold_url=music, hold_method="GET")
        return twilio_gateway.ParticipantChange(hold=True)
    if action == "resume":
        return twilio_gateway.ParticipantChange(hold=False)
    if action == "coach":
        if not CALL_SID.fullmatch(command.call_sid_to_coach):
            raise LiveActionRefused("Choose whom to coach.")
        return twilio_gateway.ParticipantChange(
            coaching=True, call_sid_to_coach=command.call_sid_to_coach
        )
    if action == "stop-coaching":
        return twilio_gateway.ParticipantChange(coaching=False)
    if action == "modify":
        if command.end_conference_on_exit is None and command.beep_on_exit is None:
            raise LiveActionRefused("Choose an exit setting to change.")
        return twilio_gateway.ParticipantChange(
            end_conference_on_exit=command.end_conference_on_exit,
            beep_on_exit=command.beep_on_exit,
        )
    raise LiveActionRefused(f"“{action}” is not something the roster can do.")


def participant_name(user: Actor, conference: Conference, call_sid: str) -> str:
    """How the roster calls this participant (masked number, invitee name or label)."""
    entry = live_selectors.roster_name(user, conference, call_sid)
    return entry or call_sid


def act_on_participant(
    *, user: Actor, conference: Conference, call_sid: str, command: ParticipantCommand
) -> ActionResult:
    """Mute, hold, coach, change exit settings of, or remove one participant, via Twilio."""
    _require(live_selectors.can_act(user, conference), "act on participants")
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
    creds = accounts.credentials(conference.account)
    try:
        if change is None:
            twilio_gateway.delete_participant(
                creds, conference.sid, call_sid, timeout=live_timeout()
            )
        else:
            twilio_gateway.update_participant(
                creds, conference.sid, call_sid, change, timeout=live_timeout()
            )
    except twilio_gateway.GatewayError as error:
        entry = _record(audit_action, user, conference, dial, call_sid, detail, error)
        return ActionResult(False, f"Could not {verb} {who}: {explain(error, who)}.", entry)
    finally:
        live_selectors.forget_twilio_roster(conference)
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
    error: twilio_gateway.GatewayError | None,
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
        conference.dials.filter(status__in=live_selectors.LIVE_DIAL_STATUSES, left_at__isnull=True)
    )


def _record_for_everyone(
    action: str,
    user: Actor,
    conference: Conference,
    detail: dict[str, Any],
    error: twilio_gateway.GatewayError | None,
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
    _require(live_selectors.can_act(user, conference), "make announcements")
    if not conference.sid or conference.status == ConferenceStatus.COMPLETED:
        raise LiveActionRefused("Announcements need a running conference.")
    detail = {"announce_url": url, "announce_method": method}
    try:
        twilio_gateway.update_conference(
            accounts.credentials(conference.account),
            conference.sid,
            announce_url=url,
            announce_method=method,
            timeout=live_timeout(),
        )
    except twilio_gateway.GatewayError as error:
        entry = _record_for_everyone(AuditAction.ANNOUNCE, user, conference, detail, error)
        return ActionResult(
            False, f"Could not play the announcement: {explain(error, 'the participant')}.", entry
        )
    entry = _record_for_everyone(AuditAction.ANNOUNCE, user, conference, detail, None)
    return ActionResult(True, "Announcement sent: Twilio plays it to everyone.", entry)


def end_conference(*, user: Actor, conference: Conference) -> ActionResult:
    """End the conference for everyone (Status=completed): every call in it hangs up."""
    _require(live_selectors.can_end(user, conference), "end the conference")
    if not conference.sid:
        raise LiveActionRefused("Twilio has not started this conference yet.")
    try:
        twilio_gateway.update_conference(
            accounts.credentials(conference.account),
            conference.sid,
            status="completed",
            timeout=live_timeout(),
        )
    except twilio_gateway.GatewayError as error:
        entry = _record_for_everyone(AuditAction.END_CONFERENCE, user, conference, {}, error)
        return ActionResult(
            False, f"Could not end the conference: {explain(error, 'the participant')}.", entry
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
    _require(live_selectors.can_act(user, conference), "change settings")
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
    account = accounts.default_account()
    with transaction.atomic():
        existing = (
            Conference.objects.select_for_update()
            .filter(account=account, friendly_name=name)
            .exclude(status=ConferenceStatus.COMPLETED)
            .order_by("-created_at")
            .first()
        )
        if existing is not None:
            if not live_selectors.visible_conferences(user).filter(pk=existing.pk).exists():
                raise LiveActionRefused(
                    f"A conference named “{name}” is already running; ask a supervisor to "
                    "add you, or choose another name."
                )
            return existing
        return Conference.objects.create(
            account=account,
            friendly_name=name,
            created_by=user if isinstance(user, User) else None,
        )


# --- Invite lists ---------------------------------------------------------------------

MAX_INVITE_ROWS = 1000
MAX_LABEL_LENGTH = 100  # Twilio allows 128; redials add "-2", "-3", …
GENERATED_LABEL_PREFIX = "invite-"
HEADER_NAMES = {
    "number": "number",
    "phone": "number",
    "phone number": "number",
    "to": "number",
    "name": "name",
    "label": "label",
    "preset": "preset",
}
COLUMNS = ("number", "name", "label", "preset")


@dataclass
class InviteRow:
    """One line of an invite list, as typed and as it would be stored."""

    line: int
    number: str
    name: str
    label: str = ""
    preset: str = ""
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class InvitePreview:
    rows: list[InviteRow]
    problems: list[str] = field(default_factory=list)  # about the whole list

    @property
    def good(self) -> list[InviteRow]:
        return [row for row in self.rows if row.ok]

    @property
    def bad(self) -> list[InviteRow]:
        return [row for row in self.rows if not row.ok]

    def as_csv(self) -> str:
        """The good rows, cleaned, as the text the confirm step sends back."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.good:
            writer.writerow([row.number, row.name, row.label, row.preset])
        return out.getvalue()


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    for number, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [cell.strip() for cell in cells]
        if any(cells) and not cells[0].startswith("#"):
            yield number, cells


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [HEADER_NAMES.get(cell.strip().lower()) for cell in header]
    if "number" not in names:
        return None
    return {name: index for index, name in enumerate(names) if name}


def _invite_row(line: int, cells: list[str], positions: Mapping[str, int]) -> InviteRow:
    def cell(name: str) -> str:
        index = positions.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    return InviteRow(
        line=line,
        number=cell("number"),
        name=cell("name"),
        label=cell("label"),
        preset=cell("preset"),
    )


def read_invite_list(text: str, *, conference: Conference, user: Actor) -> InvitePreview:
    """Validate every row (number, name, optional label and preset) before anything is stored:
    E.164 numbers in PHONE_DEFAULT_REGION, no duplicates, labels Twilio accepts."""
    rows: list[InviteRow] = []
    positions = {name: index for index, name in enumerate(COLUMNS)}
    for line, cells in _csv_rows(text.replace("\r\n", "\n")):
        if not rows and (header := _columns(cells)) is not None:
            positions = header
            continue
        rows.append(_invite_row(line, cells, positions))
        if len(rows) > MAX_INVITE_ROWS:
            return InvitePreview(
                rows=[], problems=[f"An invite list holds at most {MAX_INVITE_ROWS} rows."]
            )
    if not rows:
        return InvitePreview(rows=[], problems=["The list is empty: one row per invitee."])
    _check_rows(rows, conference, user)
    return InvitePreview(rows=rows)


def _check_rows(rows: list[InviteRow], conference: Conference, user: Actor) -> None:
    region = str(settings.PHONE_DEFAULT_REGION)
    on_list = dict(conference.invitees.values_list("number", "name"))
    labels_taken = live_selectors.used_labels(conference)
    first_line_of_number: dict[str, int] = {}
    first_line_of_label: dict[str, int] = {}
    for row in rows:
        if not row.number:
            row.problems.append("No number.")
        else:
            try:
                row.number = normalise_phone_number(row.number, region)
            except ValidationError as error:
                row.problems.extend(error.messages)
        if not row.name:
            row.problems.append("No name.")
        elif len(row.name) > 120:
            row.problems.append("The name is longer than 120 characters.")
        if row.ok:
            if row.number in first_line_of_number:
                row.problems.append(f"Same number as line {first_line_of_number[row.number]}.")
            elif row.number in on_list:
                row.problems.append(f"Already on the invite list (as {on_list[row.number]}).")
            first_line_of_number.setdefault(row.number, row.line)
        row.problems.extend(_label_problems(row.label, labels_taken))
        if row.label and row.label in first_line_of_label:
            row.problems.append(f"Same label as line {first_line_of_label[row.label]}.")
        if row.label:
            first_line_of_label.setdefault(row.label, row.line)
        if row.preset:
            _check_preset(row, conference, user)


def _label_problems(label: str, taken: set[str]) -> list[str]:
    """Twilio's label rules (16023-16026) plus room for redial suffixes and our own labels."""
    if not label:
        return []
    problems = []
    if len(label) > MAX_LABEL_LENGTH:
        problems.append(f"The label is longer than {MAX_LABEL_LENGTH} characters.")
    if "/" in label:
        problems.append("A label cannot contain “/”.")
    if CALL_SID.fullmatch(label):
        problems.append("A label cannot look like a call SID.")
    if label.startswith(GENERATED_LABEL_PREFIX):
        problems.append(f"Labels starting with “{GENERATED_LABEL_PREFIX}” are the app's own.")
    if label in taken:
        problems.append("The label is already used in this conference.")
    return problems


def _find_preset(user: Actor, name: str) -> Any:
    """The user's (or a shared) dial preset of that name, if presets exist."""
    try:
        from conferences import presets
    except ImportError:  # presets are a separate feature; invite lists work without them
        return None
    if not isinstance(user, User):
        return None
    return presets.presets_for(user).filter(name=name).first()


def _preset_params(
    user: Actor, preset_name: str, conference: Conference, basics: Mapping[str, str]
) -> tuple[dict[str, Any] | None, list[str]]:
    """The Create Participant body a preset gives with these basics; None and the form's
    complaints when the preset does not fit."""
    preset = _find_preset(user, preset_name)
    if preset is None:
        return None, []
    from conferences.forms import DialForm

    data = {
        **preset.values,
        "conference": conference.sid or conference.friendly_name,
        "to": basics["To"],
        "from": basics["From"],
        "label": basics["Label"],
    }
    form = DialForm(data, caller_ids=live_selectors.caller_ids(conference))
    if not form.is_valid():
        complaints = [
            f"{_field_label(form, name)}{' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()
        ]
        return None, complaints
    return dict(form.loggable_twilio_params()), []


def _field_label(form: Any, name: str) -> str:
    field = form.fields.get(name)
    return f"{field.label or name}: " if field is not None else ""


def _check_preset(row: InviteRow, conference: Conference, user: Actor) -> None:
    if _find_preset(user, row.preset) is None:
        row.warnings.append(
            f"No preset named “{row.preset}” (yet): this invitee is dialed with the standard "
            "options."
        )
        return
    caller = next(iter(live_selectors.caller_ids(conference)), "+15005550006")
    basics = {"To": row.number, "From": caller, "Label": row.label or "preview"}
    params, complaints = _preset_params(user, row.preset, conference, basics)
    if params is None and row.ok:
        row.problems.append(f"Preset “{row.preset}” does not fit: {'; '.join(complaints)}")


@dataclass(frozen=True)
class AddedInvitees:
    added: int
    preview: InvitePreview


def add_invitees(*, user: Actor, conference: Conference, text: str) -> AddedInvitees:
    """Add the valid rows of a confirmed invite list (checked again: things may have moved)."""
    _require(live_selectors.can_bulk_dial(user, conference), "keep invite lists")
    preview = read_invite_list(text, conference=conference, user=user)
    with transaction.atomic():
        before = conference.invitees.count()
        start = (conference.invitees.aggregate(last=Max("position"))["last"] or 0) + 1
        Invitee.objects.bulk_create(
            [
                Invitee(
                    conference=conference,
                    position=start + index,
                    number=row.number,
                    name=row.name,
                    label=row.label,
                    preset_name=row.preset,
                    added_by=user if isinstance(user, User) else None,
                )
                for index, row in enumerate(preview.good)
            ],
            ignore_conflicts=True,  # added by someone else meanwhile: theirs stays
        )
        added = conference.invitees.count() - before
    logger.info("%s invitees added to conference %s by %s", added, conference.pk, user)
    return AddedInvitees(added=added, preview=preview)


def remove_invitee(*, user: Actor, invitee: Invitee) -> None:
    """Take someone off the list; their past dials stay in the history."""
    _require(live_selectors.can_bulk_dial(user, invitee.conference), "keep invite lists")
    if invitee.last_dial is not None and not live_selectors.final_or_left(invitee.last_dial):
        raise LiveActionRefused(f"{invitee.name} is being dialed or is in: remove the call first.")
    invitee.delete()


# --- Dialing invitees -----------------------------------------------------------------


class ConferenceEnded(LiveActionRefused):
    pass


def _label_for(invitee: Invitee, attempt: int) -> str:
    base = invitee.label or f"{GENERATED_LABEL_PREFIX}{invitee.pk}"
    return base if attempt == 1 else f"{base}-{attempt}"


def _dial_params(
    operator: User, invitee: Invitee, attempt: int, caller_id: str
) -> tuple[dict[str, Any], str]:
    """Create Participant body for an invitee, and a note when their preset was not used.
    Machine detection is always on: voicemail must never be bridged in silently."""
    basics = {"To": invitee.number, "From": caller_id, "Label": _label_for(invitee, attempt)}
    params: dict[str, Any] = dict(basics)
    note = ""
    if invitee.preset_name:
        preset_params, complaints = _preset_params(
            operator, invitee.preset_name, invitee.conference, basics
        )
        if preset_params is not None:
            params = {**preset_params, **basics}
        else:
            note = f"preset “{invitee.preset_name}” not used" + (
                f": {'; '.join(complaints)}" if complaints else " (no such preset)"
            )
    params.setdefault("MachineDetection", "Enable")
    return params, note


def _attendance_now(invitee: Invitee) -> str:
    """The invitee's attendance from the database as it is now (after the row lock)."""
    if invitee.last_dial_id is None:
        return Attendance.NOT_DIALED
    dial = DialRequest.objects.get(pk=invitee.last_dial_id)
    controls = live_selectors.controls_for(invitee.conference)
    return live_selectors.attendance_of(
        [dial], dropped_within_seconds=controls.dropped_within_seconds
    )[dial.pk].state


def dial_invitee(
    *,
    operator: User,
    invitee_id: int,
    reason: str,
    caller_id: str = "",
    run: BulkDialRun | None = None,
    after_dial_id: int | None = None,
    automatic: bool = False,
) -> DialRequest | None:
    """Dial one invitee through the pipeline unless they are already queued, ringing or in.

    None when nothing was dialed: the invitee is on their way in, or (with `after_dial_id`,
    for redials) someone dialed them again since the page was drawn. The invitee row stays
    locked until the dial is stored, and (invitee, attempt) is unique.
    """
    with transaction.atomic():
        invitee = (
            Invitee.objects.select_for_update(of=("self",))
            .select_related("conference", "conference__account")
            .get(pk=invitee_id)
        )
        conference = invitee.conference
        if after_dial_id is not None and invitee.last_dial_id != after_dial_id:
            return None
        state = _attendance_now(invitee)
        if state in Attendance.ACTIVE:
            return None
        if conference.status == ConferenceStatus.COMPLETED:
            raise ConferenceEnded("This conference has ended: plan a new one to dial again.")
        if reason == InviteeDial.Reason.AUTO_REDIAL:
            limit = live_selectors.controls_for(conference).redial_max
            if state != Attendance.DROPPED or invitee.auto_redials >= limit:
                return None
        last = invitee.last_dial
        caller_id = caller_id or (last.from_number if last else "") or _default_caller(conference)
        attempt = invitee.dial_count + 1
        params, note = _dial_params(operator, invitee, attempt, caller_id)
        dial = services.submit_dial(
            operator=operator,
            submission=services.DialSubmission(conference.sid or conference.friendly_name, params),
            account=conference.account,
        )
        if dial.conference_id != conference.pk:
            raise LiveActionRefused(
                f"Another open conference is also named “{conference.friendly_name}”."
            )
        InviteeDial.objects.create(
            invitee=invitee, attempt=attempt, dial=dial, run=run, reason=reason
        )
        Invitee.objects.filter(pk=invitee.pk).update(
            dial_count=attempt,
            last_dial=dial,
            auto_redials=F("auto_redials") + (1 if reason == InviteeDial.Reason.AUTO_REDIAL else 0),
        )
        detail: dict[str, Any] = {"invitee": invitee.pk, "attempt": attempt, "reason": reason}
        if run is not None:
            detail["run"] = run.pk
        if note:
            detail["note"] = note
        action = AuditAction.BULK_DIAL if reason == InviteeDial.Reason.BULK else AuditAction.DIAL
        if automatic:
            detail["automatic"] = True
        # An automatic redial is the app's doing, on behalf of whoever dialed them before.
        audit.record(action, actor=None if automatic else operator, dial=dial, detail=detail)
    return dial


def _default_caller(conference: Conference) -> str:
    found = live_selectors.caller_ids(conference)
    if not found:
        raise LiveActionRefused("No caller ID is configured to dial from.")
    return found[0]


def redial_invitee(
    *, user: User, invitee: Invitee, after_dial_id: int | None
) -> DialRequest | None:
    """One click: dial an invitee again (or for the first time) into the same conference."""
    _require(live_selectors.can_dial_invitee(user, invitee.conference), "dial invitees")
    return dial_invitee(
        operator=user,
        invitee_id=invitee.pk,
        reason=InviteeDial.Reason.REDIAL,
        after_dial_id=after_dial_id,
    )


def dial_all_missing(*, user: User, conference: Conference, caller_id: str) -> BulkDialRun:
    """Dial every invitee not queued, ringing or in, through the pipeline (its exactly-once
    rules and the account's calls per second). Pressed twice, it dials nobody twice."""
    _require(live_selectors.can_bulk_dial(user, conference), "dial invite lists")
    if conference.status == ConferenceStatus.COMPLETED:
        raise ConferenceEnded("This conference has ended: plan a new one to dial the list again.")
    if caller_id not in live_selectors.caller_ids(conference):
        raise LiveActionRefused("Choose one of the account's caller IDs.")
    run = BulkDialRun.objects.create(conference=conference, started_by=user)
    dialed = skipped = 0
    for invitee_id in conference.invitees.order_by("position", "pk").values_list("pk", flat=True):
        if BulkDialRun.objects.filter(pk=run.pk, canceled_at__isnull=False).exists():
            break
        try:
            dial = dial_invitee(
                operator=user,
                invitee_id=invitee_id,
                reason=InviteeDial.Reason.BULK,
                caller_id=caller_id,
                run=run,
            )
        except ConferenceEnded:
            break
        except services.LabelInUse:
            dial = None
            logger.warning("invitee %s not dialed: its label is in use", invitee_id)
        except Invitee.DoesNotExist:
            dial = None  # taken off the list meanwhile
        if dial is None:
            skipped += 1
        else:
            dialed += 1
    BulkDialRun.objects.filter(pk=run.pk).update(skipped=skipped)
    if BulkDialRun.objects.filter(pk=run.pk, canceled_at__isnull=False).exists():
        _cancel_run_dials(user, run)  # canceled while we were still queuing
    audit.record(
        AuditAction.BULK_DIAL,
        actor=user,
        conference=conference,
        detail={"run": run.pk, "dialed": dialed, "skipped": skipped, "from": caller_id},
    )
    run.refresh_from_db()
    return run


def cancel_pending_dial(dial_id: int, *, reason: str) -> bool:
    """Stop a dial no worker has started: pending -> canceled. A claimed dial (placing or
    later) cannot be stopped, nor one whose earlier attempt may have reached Twilio."""
    now = timezone.now()
    return bool(
        DialRequest.objects.filter(
            pk=dial_id, status=DialStatus.PENDING, needs_verification=False
        ).update(
            status=DialStatus.CANCELED,
            failure_reason=reason[:500],
            ended_at=now,
            sip_auth_password_encrypted="",
            updated_at=now,
        )
    )


def _cancel_run_dials(user: User, run: BulkDialRun) -> int:
    canceled = 0
    for link in run.dials.filter(dial__status=DialStatus.PENDING).select_related("dial"):
        if cancel_pending_dial(link.dial_id, reason=f"bulk dial #{run.pk} canceled by {user}"):
            audit.record(AuditAction.CANCEL, actor=user, dial=link.dial, detail={"run": run.pk})
            canceled += 1
    return canceled


def cancel_bulk_dial(*, user: User, run: BulkDialRun) -> int:
    """Cancel what a bulk dial has not started yet; how many dials were stopped."""
    _require(live_selectors.can_bulk_dial(user, run.conference), "cancel bulk dials")
    BulkDialRun.objects.filter(pk=run.pk, canceled_at__isnull=True).update(
        canceled_at=timezone.now(), canceled_by=user
    )
    canceled = _cancel_run_dials(user, run)
    audit.record(
        AuditAction.CANCEL,
        actor=user,
        conference=run.conference,
        detail={"run": run.pk, "canceled": canceled},
    )
    return canceled


# --- The sweep: answering machines out, dropped invitees back in ----------------------

# A completed call whose participant-leave has not arrived yet: wait this long for it
# before judging how the caller left.
LEAVE_GRACE = timedelta(seconds=5)


def remove_voicemail_calls() -> int:
    """Remove invitee calls an answering machine picked up (where the conference says so)."""
    links = (
        InviteeDial.objects.filter(
            voicemail_handled_at__isnull=True,
            dial__status=DialStatus.IN_PROGRESS,
            dial__left_at__isnull=True,
        )
        .filter(Q(dial__answered_by__startswith="machine") | Q(dial__answered_by="fax"))
        .select_related("dial", "dial__conference", "dial__conference__account")
    )
    removed = 0
    for link in links[:200]:
        dial = link.dial
        conference = dial.conference
        if not live_selectors.controls_for(conference).remove_voicemail or not conference.sid:
            continue
        claimed = InviteeDial.objects.filter(pk=link.pk, voicemail_handled_at__isnull=True).update(
            voicemail_handled_at=timezone.now()
        )
        if not claimed:
            continue  # another sweep has it
        removed += _remove_machine(link, dial, conference)
    return removed


def _remove_machine(link: InviteeDial, dial: DialRequest, conference: Conference) -> int:
    detail: dict[str, Any] = {
        "call_sid": dial.call_sid,
        "reason": "voicemail",
        "answered_by": dial.answered_by,
    }
    try:
        twilio_gateway.delete_participant(
            accounts.credentials(conference.account),
            conference.sid or "",
            dial.call_sid,
            timeout=live_timeout(),
        )
    except twilio_gateway.GatewayError as error:
        gone = error.code == 20404 or error.status == 404
        if error.retryable and not gone:
            # Let the next sweep try again.
            InviteeDial.objects.filter(pk=link.pk).update(voicemail_handled_at=None)
        audit.record(
            AuditAction.REMOVE,
            actor=None,
            dial=dial,
            outcome="gone" if gone else "failed",
            detail={**detail, "error_code": error.code, "error": error.message[:500]},
        )
        return 0
    audit.record(AuditAction.REMOVE, actor=None, dial=dial, detail=detail)
    logger.info("dial %s: answering machine removed from conference %s", dial.pk, conference.pk)
    return 1


def redial_dropped_invitees() -> int:
    """Dial dropped invitees again where the conference asks for it, at most N times each."""
    redialed = 0
    settled_before = timezone.now() - LEAVE_GRACE
    controls_rows = ConferenceControls.objects.filter(
        redial_dropped=True, redial_max__gt=0
    ).exclude(conference__status=ConferenceStatus.COMPLETED)
    for controls in controls_rows.select_related("conference"):
        candidates = (
            controls.conference.invitees.filter(
                last_dial__status=DialStatus.COMPLETED,
                auto_redials__lt=controls.redial_max,
            )
            .filter(~Q(last_dial__end_reason="") | Q(last_dial__updated_at__lt=settled_before))
            .select_related("last_dial", "last_dial__operator")
        )
        for invitee in candidates[:200]:
            last = invitee.last_dial
            if last is None:
                continue
            try:
                dial = dial_invitee(
                    operator=last.operator,
                    invitee_id=invitee.pk,
                    reason=InviteeDial.Reason.AUTO_REDIAL,
                    after_dial_id=last.pk,
                    automatic=True,
                )
            except (LiveActionRefused, IntegrityError, services.LabelInUse) as error:
                logger.warning("invitee %s not redialed: %s", invitee.pk, error)
                continue
            redialed += dial is not None
    return redialed


@dataclass(frozen=True)
class LiveSweepReport:
    voicemail_removed: int
    redialed: int


def sweep_live_conferences() -> LiveSweepReport:
    """What beat runs every few seconds: machines out, dropped invitees back in."""
    return LiveSweepReport(
        voicemail_removed=remove_voicemail_calls(), redialed=redial_dropped_invitees()
    )
