"""The planning form: a start typed in the planner's time zone, kept in UTC."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone

from conferences.core import inputs
from conferences.events.monitoring import clean_address
from conferences.events.planning import EventPlan
from conferences.live.invite_import import MAX_INVITE_ROWS
from conferences.models import (
    ROLE_ORDER,
    Conference,
    MonitorMode,
    OperatorPhone,
    RoleSettings,
    validate_time_zone,
)

MAX_LEAD_MINUTES = 60
LIST_HELP = "One per line: number, name[, label[, preset]]. A CSV with a header works too."
# Generous for MAX_INVITE_ROWS lines of number, name, label and preset.
MAX_LIST_CHARACTERS = MAX_INVITE_ROWS * 400


def _list_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_LIST_CHARACTERS,
        help_text=LIST_HELP,
    )


class StartInput(forms.DateTimeInput):
    """A datetime-local box in minutes, as planners type a start. A start planned to the
    second (the API takes seconds) is shown, and sent back, to the second (step 1): cut to
    its minute, editing anything else on the page would move the start."""

    input_type = "datetime-local"
    MINUTES = "%Y-%m-%dT%H:%M"
    SECONDS = "%Y-%m-%dT%H:%M:%S"

    def __init__(self) -> None:
        super().__init__(format=self.MINUTES)

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime) and (value.second or value.microsecond):
            return value.strftime(self.SECONDS)
        return super().format_value(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        shown = str(context["widget"]["value"] or "")
        if shown.count(":") == 2:  # hh:mm:ss, from the start kept or as typed and sent
            context["widget"]["attrs"]["step"] = "1"
        return context


class EventForm(forms.Form):
    friendly_name = forms.CharField(
        label="Conference name",
        max_length=Conference._meta.get_field("friendly_name").max_length,
        validators=[RegexValidator(r"^[^/]*$", "A conference name cannot contain “/”.")],
    )
    starts_at = forms.DateTimeField(
        label="Starts at",
        widget=StartInput(),
        input_formats=[StartInput.MINUTES, StartInput.SECONDS, "%Y-%m-%d %H:%M"],
    )
    time_zone = forms.CharField(label="Time zone", max_length=64, validators=[validate_time_zone])
    dial_lead_minutes = forms.IntegerField(
        label="Dial out this many minutes before",
        min_value=0,
        max_value=MAX_LEAD_MINUTES,
        initial=2,
    )
    caller_id = forms.ChoiceField(label="Call from")
    host = _list_field("Hosts")
    speaker = _list_field("Speakers")
    listener = _list_field("Listeners")

    def __init__(
        self, *args: Any, caller_ids: list[str], editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["caller_id"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 -- declared above
        field.choices = [(number, number) for number in caller_ids]
        if editing:
            # The conference keeps its name; lists typed while editing are added.
            self.fields["friendly_name"].disabled = True
            for role in ROLE_ORDER:
                self.fields[role].label = f"Add {str(self.fields[role].label).lower()}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        typed, zone = cleaned.get("starts_at"), cleaned.get("time_zone")
        if isinstance(typed, datetime) and zone:
            # Django read the time in the request's zone; the planner meant the zone named.
            naive = timezone.make_naive(typed, timezone.get_current_timezone())
            if not inputs.EARLIEST_DAY <= naive.date() <= inputs.LATEST_DAY:
                # Moved into UTC, a time at either end of the calendar would leave it.
                self.add_error("starts_at", inputs.DAY_RANGE_MESSAGE)
                return cleaned
            cleaned["starts_at"] = naive.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        return cleaned

    def plan(self) -> EventPlan:
        data = self.cleaned_data
        return EventPlan(
            friendly_name=data["friendly_name"].strip(),
            starts_at=data["starts_at"].astimezone(zoneinfo.ZoneInfo("UTC")),
            time_zone=data["time_zone"],
            dial_lead_seconds=data["dial_lead_minutes"] * 60,
            caller_id=data["caller_id"],
            lists={role: data.get(role, "") for role in ROLE_ORDER},
        )


class RoleSettingsForm(forms.ModelForm):
    """How one role joins: the Create Participant settings an owner may change."""

    class Meta:
        model = RoleSettings
        fields = ["start_conference_on_enter", "end_conference_on_exit", "muted", "beep"]
        labels = {
            "start_conference_on_enter": "Starts the conference on entering",
            "end_conference_on_exit": "Ends the conference on leaving",
            "muted": "Joins muted",
            "beep": "Beep",
        }


class SwitchForm(forms.Form):
    """On or off: lecture mode, or the floor for one listener."""

    on = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")


class OwnPhoneForm(forms.Form):
    address = forms.CharField(
        label="My phone",
        required=False,
        max_length=OperatorPhone._meta.get_field("address").max_length,
        help_text="A number (+14155550100), a sip: address or a client: identity. Empty: none.",
    )

    def clean_address(self) -> str:
        value = str(self.cleaned_data.get("address") or "")
        return clean_address(value) if value.strip() else ""


class MonitorForm(forms.Form):
    mode = forms.ChoiceField(choices=MonitorMode.choices)
    target = forms.CharField(required=False, max_length=34)
