"""The live pages' forms: plan, participant actions, announce, settings, invite import,
dial all, and adding an operator."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, RegexValidator

from conferences.live import actions as live_actions
from conferences.live import operators as live_operators
from conferences.models import Conference, ConferenceControls, User

MAX_UPLOAD_BYTES = 1024 * 1024


# --- Forms ----------------------------------------------------------------------------


class PlanConferenceForm(forms.Form):
    friendly_name = forms.CharField(
        label="Conference name",
        max_length=128,
        validators=[RegexValidator(r"^[^/]*$", "A conference name cannot contain “/”.")],
    )


class ParticipantActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(name, name) for name in live_actions.PARTICIPANT_ACTIONS])
    call_sid_to_coach = forms.CharField(required=False, max_length=34, label="Coach whom")
    end_conference_on_exit = forms.NullBooleanField(required=False)
    beep_on_exit = forms.NullBooleanField(required=False)

    def command(self) -> live_actions.ParticipantCommand:
        data = self.cleaned_data
        return live_actions.ParticipantCommand(
            action=data["action"],
            call_sid_to_coach=data.get("call_sid_to_coach") or "",
            end_conference_on_exit=data.get("end_conference_on_exit"),
            beep_on_exit=data.get("beep_on_exit"),
        )


class AnnounceForm(forms.Form):
    url = forms.URLField(
        label="Announcement URL",
        max_length=500,
        assume_scheme="https",
        help_text="An MP3/WAV file or TwiML (<Say>, <Play>) Twilio fetches and plays to all.",
    )
    method = forms.ChoiceField(choices=[("GET", "GET"), ("POST", "POST")], initial="GET")


class ControlsForm(forms.ModelForm):
    redial_max = forms.IntegerField(
        label="Redial at most", min_value=0, validators=[MaxValueValidator(10)]
    )
    dropped_within_seconds = forms.IntegerField(
        label="Dropped if they hang up within (seconds)",
        min_value=1,
        validators=[MaxValueValidator(3600)],
    )
    callbacks_elsewhere = forms.NullBooleanField(
        label="This conference's callbacks go elsewhere",
        required=False,
        widget=forms.Select(
            choices=[
                ("unknown", "Detect it"),
                ("true", "Yes: poll Twilio's participant list"),
                ("false", "No: follow our callbacks"),
            ]
        ),
    )

    class Meta:
        model = ConferenceControls
        fields = [
            "hold_music_url",
            "redial_dropped",
            "redial_max",
            "dropped_within_seconds",
            "remove_voicemail",
            "callbacks_elsewhere",
        ]
        labels = {
            "hold_music_url": "Hold music URL",
            "redial_dropped": "Redial dropped invitees automatically",
            "remove_voicemail": "Remove calls answered by a machine",
        }

    def values(self) -> live_actions.ControlValues:
        data = self.cleaned_data
        return live_actions.ControlValues(
            hold_music_url=data["hold_music_url"] or "",
            redial_dropped=bool(data["redial_dropped"]),
            redial_max=data["redial_max"],
            dropped_within_seconds=data["dropped_within_seconds"],
            remove_voicemail=bool(data["remove_voicemail"]),
            callbacks_elsewhere=data["callbacks_elsewhere"],
        )


class InviteImportForm(forms.Form):
    text = forms.CharField(
        label="Type or paste: number, name, label, preset (one per line)",
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
    )
    file = forms.FileField(label="Or upload a CSV file", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError("The file is larger than 1 MB.")
            try:
                cleaned["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise forms.ValidationError(
                    "Save the CSV file as UTF-8 and upload it again."
                ) from error
        if not (cleaned.get("text") or "").strip():
            raise forms.ValidationError("Type, paste or upload the invite list.")
        return cleaned


class DialAllForm(forms.Form):
    caller_id = forms.ChoiceField(label="Call from")

    def __init__(self, *args: Any, caller_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["caller_id"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 -- declared above
        field.choices = [(number, number) for number in caller_ids]


class RedialForm(forms.Form):
    after_dial = forms.IntegerField(required=False, min_value=1)


class AddOperatorForm(forms.Form):
    operator = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Add an operator",
        empty_label="Choose an operator",
        error_messages={"invalid_choice": "Choose one of the operators listed."},
    )

    def __init__(self, *args: Any, conference: Conference, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["operator"]
        assert isinstance(field, forms.ModelChoiceField)  # noqa: S101 -- declared above
        field.queryset = live_operators.addable_operators(conference)
