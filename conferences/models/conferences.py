"""Conferences, the operators added to them, and the controls an owner sets for each."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.models.twilio_accounts import TwilioAccount


class ConferenceStatus(models.TextChoices):
    INIT = "init", "Waiting to start"
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "Ended"


class Conference(models.Model):
    """A conference as the app knows it: by friendly name until Twilio gives it a SID."""

    account = models.ForeignKey(TwilioAccount, on_delete=models.PROTECT, related_name="conferences")
    friendly_name = models.CharField(max_length=128)
    # NULL, not "", until Twilio names it: the unique (account, sid) constraint ignores NULLs.
    sid = models.CharField(max_length=34, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(
        max_length=16, choices=ConferenceStatus.choices, default=ConferenceStatus.INIT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason_ended = models.CharField(max_length=64, blank=True)
    call_sid_ending = models.CharField(max_length=34, blank=True)
    last_sequence_number = models.IntegerField(null=True, blank=True)
    # Issue 12: when the reconciler last asked the API, and when personal data was purged.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "sid"], name="unique_conference_sid"),
        ]
        indexes = [
            models.Index(fields=["account", "friendly_name", "-created_at"]),
            # Issue 10: the history filters by conference name across accounts.
            models.Index(fields=["friendly_name"], name="conference_friendly_name"),
        ]

    def __str__(self) -> str:
        return self.friendly_name


class ConferenceOperator(models.Model):
    """An operator a supervisor added to a conference someone else runs: the only way,
    besides planning or first dialing it, that an operator may use a conference."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="operators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conferences_added_to"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conference", "user"], name="one_grant_per_operator")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.conference}"


# --- Live conferences: controls, invite lists and bulk dialing (issue 11) -------------


class ConferenceControls(models.Model):
    """How the live page runs one conference; a conference without a row uses the defaults."""

    conference = models.OneToOneField(Conference, on_delete=models.CASCADE, related_name="controls")
    hold_music_url = models.URLField(
        max_length=500, blank=True, help_text="Empty: the HOLD_MUSIC_URL setting."
    )
    redial_dropped = models.BooleanField(
        default=False, help_text="Dial dropped invitees again without waiting for an operator."
    )
    redial_max = models.PositiveSmallIntegerField(
        default=2, help_text="Automatic redials per invitee, at most."
    )
    dropped_within_seconds = models.PositiveIntegerField(
        default=60, help_text="A caller who hangs up sooner than this is counted as dropped."
    )
    remove_voicemail = models.BooleanField(
        default=True, help_text="Remove a call that an answering machine picked up."
    )
    # None: detect (no conference callback arrives although our calls were answered).
    callbacks_elsewhere = models.BooleanField(null=True, blank=True)
    # Issue 21: every listener muted, and listeners dialed meanwhile join muted.
    lecture_mode = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"controls of {self.conference}"
