"""Stored callbacks, refused callbacks and the hourly tallies of duplicates and disorder."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from conferences.models.conferences import Conference
from conferences.models.dials import DialRequest


class CallbackKind(models.TextChoices):
    CALL_STATUS = "call-status", "Call status"
    CONFERENCE = "conference", "Conference event"
    RECORDING = "recording", "Recording"
    CONFERENCE_RECORDING = "conference-recording", "Conference recording"
    AMD = "amd", "Machine detection"
    RECONCILED = "reconciled", "Reconciled from the API"


# The kinds whose callback URL names the dial they are about. Not conference events: Twilio
# sends those about every participant to the URL of the conference's first one, so the id
# in their URL may name another dial.
KINDS_NAMING_THEIR_DIAL = frozenset(
    {CallbackKind.CALL_STATUS, CallbackKind.AMD, CallbackKind.RECORDING}
)


class CallbackEvent(models.Model):
    """A callback exactly as Twilio sent it: append-only, the timeline's source."""

    kind = models.CharField(max_length=24, choices=CallbackKind.choices)
    dial = models.ForeignKey(
        DialRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    conference = models.ForeignKey(
        Conference, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    account_sid = models.CharField(max_length=34)
    call_sid = models.CharField(max_length=34, blank=True)
    conference_sid = models.CharField(max_length=34, blank=True)
    event = models.CharField(max_length=64, help_text="CallStatus, StatusCallbackEvent, …")
    sequence_number = models.IntegerField(null=True, blank=True)
    twilio_timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    params = models.JSONField()
    dedupe_key = models.CharField(max_length=200, unique=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    unknown_value = models.BooleanField(
        default=False, help_text="Well signed but carrying a value this app does not know yet."
    )
    # The dial id in the callback URL, kept even when it names no dial: relays follow the
    # URL (Twilio only calls the first participant's conference URL), not the correlation.
    dial_id_in_url = models.PositiveBigIntegerField(null=True, blank=True)
    orphaned = models.BooleanField(
        default=False,
        help_text="Well signed, but the dial id in its URL names no dial of that account.",
    )
    # Issue 12: when retention replaced the personal values in `params`.
    purged_at = models.DateTimeField(null=True, blank=True)
    # The receiver only stores; the `callbacks` process applies (apply_pending_callbacks). An
    # event that failed to apply is tried again a few times, then left for a person.
    apply_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    apply_error = models.CharField(max_length=500, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["dial", "received_at"]),
            models.Index(fields=["conference", "received_at"]),
            # Issue 12: webhook health and metrics read recent callbacks by time.
            models.Index(fields=["received_at"], name="callback_received_at"),
            # The applier's queue: oldest first, only the rows still to apply.
            models.Index(
                fields=["id"],
                name="callback_unapplied",
                condition=models.Q(applied_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event} ({self.call_sid or self.conference_sid})"

    def param(self, name: str, default: str = "") -> str:
        value: Any = self.params.get(name, default)
        if isinstance(value, list):
            return str(value[-1]) if value else default
        return str(value)


# --- Webhook rejections and relays (issue 8) ------------------------------------------


class WebhookRejectionReason(models.TextChoices):
    MISSING_SIGNATURE = "missing-signature", "No X-Twilio-Signature header"
    UNKNOWN_ACCOUNT = "unknown-account", "AccountSid of no configured account"
    BAD_SIGNATURE = "bad-signature", "Signature does not match"
    MALFORMED = "malformed", "Missing the identifiers its kind needs"
    TOO_LARGE = "too-large", "Body over WEBHOOK_MAX_BODY_BYTES"
    # Issue 18: what Django refuses before (or while) the view reads the request.
    TOO_MANY_FIELDS = "too-many-fields", "More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS"
    BAD_HOST = "bad-host", "Host header not in ALLOWED_HOSTS"


class WebhookRejection(models.Model):
    """How many callbacks were refused per kind, hour and reason; nothing else is kept."""

    kind = models.CharField(max_length=24, choices=CallbackKind.choices)
    hour = models.DateTimeField()
    reason = models.CharField(max_length=24, choices=WebhookRejectionReason.choices)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "hour", "reason"], name="one_rejection_counter_per_hour"
            ),
        ]
        ordering = ["-hour", "kind", "reason"]

    def __str__(self) -> str:
        return f"{self.count} x {self.reason} on {self.kind} at {self.hour:%Y-%m-%d %H}:00"


# --- Webhook health tallies (issue 12) ------------------------------------------------


class CallbackTallyMeasure(models.TextChoices):
    DUPLICATE = "duplicate", "Delivered again (not stored twice)"
    OUT_OF_ORDER = "out-of-order", "Arrived after a later event of the same call or conference"


class CallbackTally(models.Model):
    """Per kind and hour, how many well-signed callbacks were duplicates or out of order.

    Stored callbacks are counted from CallbackEvent and refusals from WebhookRejection;
    these are the two things neither of them records.
    """

    kind = models.CharField(max_length=24, choices=CallbackKind.choices)
    hour = models.DateTimeField()
    measure = models.CharField(max_length=16, choices=CallbackTallyMeasure.choices)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "hour", "measure"], name="one_callback_tally_per_hour"
            ),
        ]
        ordering = ["-hour", "kind", "measure"]
        verbose_name_plural = "callback tallies"

    def __str__(self) -> str:
        return f"{self.count} x {self.measure} on {self.kind} at {self.hour:%Y-%m-%d %H}:00"
