"""Operator-assisted events: a conference planned for a time, dialed out from its invite
list when that time comes (issue 21)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.models.conferences import Conference
from conferences.models.invitees import BulkDialRun, InviteeRole


class EventStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DIALING = "dialing", "Dialing out"
    DIALED = "dialed", "Dialed out"
    CANCELED = "canceled", "Canceled"
    # The beat did not run between the dial-out time and well after the start (everything
    # was down): dialing people into a call that is long over helps nobody.
    MISSED = "missed", "Missed: not dialed in time"


class ScheduledConference(models.Model):
    """A conference planned for a start time; the beat task dials its invite list
    `dial_lead_seconds` before it, once (the status moves forward by conditional UPDATEs)."""

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="schedule")
    starts_at = models.DateTimeField(help_text="Stored in UTC; shown in the planner's zone.")
    # The zone the planner typed the start in: the edit form shows it back the same way.
    time_zone = models.CharField(max_length=64)
    dial_lead_seconds = models.PositiveIntegerField(default=120)
    # starts_at less the lead, kept with them (one service sets all three) so "what is due"
    # is one indexed comparison.
    dial_at = models.DateTimeField()
    caller_id = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.SCHEDULED
    )
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="planned_events"
    )
    planned_at = models.DateTimeField(default=timezone.now)
    # A dial-out holds the event until then and extends it as it goes; a process that died
    # mid-way lets it lapse, and the next beat picks the event up where it stopped.
    claimed_until = models.DateTimeField(null=True, blank=True)
    dial_started_at = models.DateTimeField(null=True, blank=True)
    dialed_at = models.DateTimeField(null=True, blank=True)
    run = models.OneToOneField(
        BulkDialRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="event"
    )
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="canceled_events",
    )

    class Meta:
        indexes = [models.Index(fields=["status", "dial_at"], name="event_due")]

    def __str__(self) -> str:
        return f"{self.conference} at {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def changeable(self) -> bool:
        """Editable and cancelable until the dial-out begins."""
        return self.status == EventStatus.SCHEDULED


class Beep(models.TextChoices):
    YES = "true", "On entering and leaving"
    NO = "false", "Never"
    ON_ENTER = "onEnter", "On entering"
    ON_EXIT = "onExit", "On leaving"


# What each role joins with unless the conference's owner changes it (Create Participant).
ROLE_DEFAULTS: dict[str, dict[str, bool | str]] = {
    "host": {
        "start_conference_on_enter": True,
        "end_conference_on_exit": False,
        "muted": False,
        "beep": Beep.YES,
    },
    "speaker": {
        "start_conference_on_enter": False,
        "end_conference_on_exit": False,
        "muted": False,
        "beep": Beep.YES,
    },
    "listener": {
        "start_conference_on_enter": False,
        "end_conference_on_exit": False,
        "muted": True,
        "beep": Beep.NO,
    },
}


def _wire(value: bool) -> str:
    return "true" if value else "false"


class RoleSettings(models.Model):
    """The Create Participant settings one role joins a conference with; a conference with
    no rows (one not planned as an event) dials invitees as before."""

    conference = models.ForeignKey(
        Conference, on_delete=models.CASCADE, related_name="role_settings"
    )
    role = models.CharField(max_length=16, choices=InviteeRole.choices)
    start_conference_on_enter = models.BooleanField()
    end_conference_on_exit = models.BooleanField()
    muted = models.BooleanField()
    beep = models.CharField(max_length=8, choices=Beep.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conference", "role"], name="one_setting_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.role} settings of {self.conference}"

    def participant_params(self, *, lecture_mode: bool = False) -> dict[str, str]:
        """The Create Participant parameters for someone of this role; in lecture mode a
        listener joins muted whatever the setting says."""
        muted = self.muted or (lecture_mode and self.role == InviteeRole.LISTENER)
        return {
            "StartConferenceOnEnter": _wire(self.start_conference_on_enter),
            "EndConferenceOnExit": _wire(self.end_conference_on_exit),
            "Muted": _wire(muted),
            "Beep": self.beep,
        }


# --- Listen, whisper, barge from the operator's own phone -----------------------------


class OperatorPhone(models.Model):
    """Where an operator takes their monitoring calls: a number, sip: or client: address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="own_phone"
    )
    address = models.CharField(max_length=255)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"phone of {self.user}"


class MonitorMode(models.TextChoices):
    LISTEN = "listen", "Listening"
    WHISPER = "whisper", "Whispering"
    BARGE = "barge", "Barged in"
    LEFT = "left", "Left"


class OperatorLeg(models.Model):
    """An operator's own call into a conference: one dial, updated between listen, whisper
    and barge rather than dialed again; never counted as attendance."""

    conference = models.ForeignKey(
        Conference, on_delete=models.CASCADE, related_name="operator_legs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator_legs"
    )
    dial = models.OneToOneField(
        "conferences.DialRequest", on_delete=models.CASCADE, related_name="operator_leg"
    )
    mode = models.CharField(max_length=8, choices=MonitorMode.choices, default=MonitorMode.LISTEN)
    coaching_call_sid = models.CharField(max_length=34, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["conference", "user", "-started_at"], name="operator_leg_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.mode} in {self.conference}"
