"""Reading invite lists (CSV or typed), checking them against the schema's rules, and keeping
invitees.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Field, Max

from conferences.accounts import masking
from conferences.core import inputs
from conferences.dialing import presets
from conferences.dialing.fields import normalise_phone_number, schema_problems
from conferences.dialing.forms import DialForm
from conferences.live import access as live_access
from conferences.live import invite_list
from conferences.live.actions import Actor, LiveActionRefused, _require
from conferences.models import (
    Conference,
    Invitee,
    User,
)
from conferences.schema import parameter

logger = logging.getLogger(__name__)


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
    try:
        for line, cells in _csv_rows(text.replace("\r\n", "\n")):
            if not rows and (header := _columns(cells)) is not None:
                positions = header
                continue
            rows.append(_invite_row(line, cells, positions))
            if len(rows) > MAX_INVITE_ROWS:
                return InvitePreview(
                    rows=[], problems=[f"An invite list holds at most {MAX_INVITE_ROWS} rows."]
                )
    except csv.Error as error:  # e.g. a cell over the csv module's 128 KiB field limit
        return InvitePreview(rows=[], problems=[f"The list cannot be read as CSV: {error}."])
    if not rows:
        return InvitePreview(rows=[], problems=["The list is empty: one row per invitee."])
    _check_rows(rows, conference, user)
    return InvitePreview(rows=rows)


def _check_rows(rows: list[InviteRow], conference: Conference, user: Actor) -> None:
    region = str(settings.PHONE_DEFAULT_REGION)
    already_on_list = _already_on_list(conference, user)
    labels_taken = invite_list.used_labels(conference)
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
        row.problems.extend(_column_problems(row.name, "name", what="Name"))
        if row.ok:
            if row.number in first_line_of_number:
                row.problems.append(f"Same number as line {first_line_of_number[row.number]}.")
            elif problem := already_on_list(row.number):
                row.problems.append(problem)
            first_line_of_number.setdefault(row.number, row.line)
        row.problems.extend(_label_problems(row.label, labels_taken))
        if row.label and row.label in first_line_of_label:
            row.problems.append(f"Same label as line {first_line_of_label[row.label]}.")
        if row.label:
            first_line_of_label.setdefault(row.label, row.line)
        if row.preset and not (
            preset_problems := _column_problems(row.preset, "preset_name", what="Preset")
        ):
            _check_preset(row, conference, user)
        elif row.preset:
            row.problems.extend(preset_problems)


def _already_on_list(conference: Conference, user: Actor) -> Callable[[str], str]:
    """Whether a number is on the list, as this user may learn it: exactly for invitees
    whose number they see; for the others only by the masked form they see on the list,
    so a guess answers the same as every number that looks like it."""
    seen: dict[str, str] = {}
    masked: dict[str, str] = {}
    for invitee in conference.invitees.only("number", "name", "added_by"):
        if masking.may_see_invitee_number(user, invitee):
            seen[invitee.number] = invitee.name
        else:
            masked.setdefault(masking.mask_number(invitee.number), invitee.name)

    def problem(number: str) -> str:
        if number in seen:
            return f"Already on the invite list (as {seen[number]})."
        look = masking.mask_number(number)
        if look in masked:
            return (
                f"Looks like {masked[look]} ({look}), already on the invite list: a number "
                "you only see masked cannot be added twice. Ask who added them."
            )
        return ""

    return problem


def _column_problems(value: str, column: str, *, what: str) -> list[str]:
    """Why the invitee's `column` cannot hold this cell (NUL, too long); [] if it can."""
    model_field = cast("Field[Any, Any]", Invitee._meta.get_field(column))
    return inputs.text_problems(value, model_field, what=what)


def _label_problems(label: str, taken: set[str]) -> list[str]:
    """The schema's Label rule (as the dial form applies it), room for redial suffixes,
    and the labels the app keeps for itself."""
    if not label:
        return []
    problems = []
    if len(label) > MAX_LABEL_LENGTH:
        problems.append(f"The label is longer than {MAX_LABEL_LENGTH} characters.")
    elif unstorable := _column_problems(label, "label", what="Label"):
        problems.extend(unstorable)
    else:
        problems.extend(schema_problems(parameter("Label"), label))
    if label.startswith(GENERATED_LABEL_PREFIX):
        problems.append(f"Labels starting with “{GENERATED_LABEL_PREFIX}” are the app's own.")
    if label in taken:
        problems.append("The label is already used in this conference.")
    return problems


def _find_preset(user: Actor, name: str) -> Any:
    """The user's (or a shared) dial preset of that name, if presets exist."""
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
    data = {
        **preset.values,
        "conference": conference.sid or conference.friendly_name,
        "to": basics["To"],
        "from": basics["From"],
        "label": basics["Label"],
    }
    form = DialForm(data, caller_ids=invite_list.caller_ids(conference))
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
    caller = next(iter(invite_list.caller_ids(conference)), "+15005550006")
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
    _require(live_access.can_bulk_dial(user, conference), "keep invite lists")
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
    _require(live_access.can_bulk_dial(user, invitee.conference), "keep invite lists")
    if invitee.last_dial is not None and not invite_list.final_or_left(invitee.last_dial):
        raise LiveActionRefused(f"{invitee.name} is being dialed or is in: remove the call first.")
    invitee.delete()
