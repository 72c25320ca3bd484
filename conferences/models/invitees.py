"""Invite lists, their invitees, each invitee's dials and bulk-dial runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.models.conferences import Conference
from conferences.models.dials import DialRequest


class InviteeRole(models.TextChoices):
    """What an invitee is in an event (issue 21); dial-outs go hosts, speakers, listeners."""

    HOST = "host", "Host"
    SPEAKER = "speaker", "Speaker"
    LISTENER = "listener", "Listener"


# Dial-out order, and the order invite lists and rosters group people in.
ROLE_ORDER: tuple[str, ...] = (InviteeRole.HOST, InviteeRole.SPEAKER, InviteeRole.LISTENER)


class BulkDialRun(models.Model):
    """One press of "Dial all missing": the dials it queued and whether it was canceled."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="bulk_runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulk_runs"
    )
    started_at = models.DateTimeField(default=timezone.now)
    skipped = models.PositiveIntegerField(default=0)
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="canceled_bulk_runs",
    )

    class Meta:
        indexes = [models.Index(fields=["conference", "-started_at"])]

    def __str__(self) -> str:
        return f"bulk dial #{self.pk} into {self.conference}"


class Invitee(models.Model):
    """Someone on a conference's invite list; their attendance comes from their last dial."""

    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="invitees")
    position = models.PositiveIntegerField(default=0)
    number = models.CharField(max_length=32, help_text="E.164")
    name = models.CharField(max_length=120)
    label = models.CharField(max_length=100, blank=True)
    preset_name = models.CharField(max_length=80, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    added_at = models.DateTimeField(default=timezone.now)
    # Dials made for this invitee so far: the next one is attempt dial_count + 1, and
    # (invitee, attempt) is unique in InviteeDial, so one attempt is never dialed twice.
    dial_count = models.PositiveIntegerField(default=0)
    last_dial = models.ForeignKey(
        DialRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    auto_redials = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=16, choices=InviteeRole.choices, default=InviteeRole.SPEAKER)

    class Meta:
        ordering = ["conference", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["conference", "number"], name="one_invitee_per_number"),
            models.UniqueConstraint(
                fields=["conference", "label"],
                condition=~models.Q(label=""),
                name="unique_invitee_label",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number}) for {self.conference}"


class InviteeDial(models.Model):
    """One dial made for an invitee: which attempt it was, why, and in which bulk run."""

    class Reason(models.TextChoices):
        BULK = "bulk", "Dial all missing"
        REDIAL = "redial", "Redialed by an operator"
        AUTO_REDIAL = "auto-redial", "Redialed automatically after a drop"

    invitee = models.ForeignKey(Invitee, on_delete=models.CASCADE, related_name="dial_log")
    attempt = models.PositiveIntegerField()
    dial = models.OneToOneField(DialRequest, on_delete=models.CASCADE, related_name="invitee_link")
    run = models.ForeignKey(
        BulkDialRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="dials"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Claimed once by the sweeper that removes a call an answering machine picked up.
    voicemail_handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invitee", "attempt"], name="one_dial_per_attempt"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.attempt} for invitee #{self.invitee_id}"
