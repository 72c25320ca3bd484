"""Dial requests and their attempts at Twilio (the statuses and their order: core.dial_states)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.accounts import roles
from conferences.core.dial_states import FINAL_DIAL_STATUSES, DialStatus
from conferences.models.conferences import Conference
from conferences.models.twilio_accounts import TwilioAccount

# One label per caller per conference (Twilio addresses participants by it).
UNIQUE_LABEL_CONSTRAINT = "unique_label_per_conference"


class DialRequest(models.Model):
    """One operator's request to bring one caller into one conference: exactly one call."""

    account = models.ForeignKey(TwilioAccount, on_delete=models.PROTECT, related_name="dials")
    conference = models.ForeignKey(Conference, on_delete=models.PROTECT, related_name="dials")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dials"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=DialStatus.choices, default=DialStatus.PENDING)
    to_number = models.CharField(max_length=255)
    from_number = models.CharField(max_length=255)
    label = models.CharField(max_length=128)
    # Set when the operator dialed an invitee whose number is masked for them (someone
    # else's): the dial being theirs must not show them the number (accounts.masking).
    numbers_hidden_from_operator = models.BooleanField(default=False, db_default=False)
    # The Create Participant body as sent, without secrets (SipAuthPassword is elsewhere).
    params = models.JSONField(default=dict)
    # Where the operator's own callback URLs get relayed: {kind: {url, method, events}}.
    relay_targets = models.JSONField(default=dict, blank=True)
    sip_auth_password_encrypted = models.TextField(blank=True)

    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on a placing dial is a lease: it holds until claim_expires_at (the
    # database's clock), the task renews it while it works, and once it lapses the sweeper
    # sends the dial through the exactly-once checks, whoever held it (dialing.claims).
    # A database default too: synthetic history inserts rows in SQL.
    claim_token = models.CharField(max_length=32, blank=True, default="", db_default="")
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    placed_at = models.DateTimeField(null=True, blank=True)
    placed_by_check = models.CharField(max_length=32, blank=True)
    # Set when an attempt may have reached Twilio without us learning the result: the next
    # run must look for the call before it may create one again.
    needs_verification = models.BooleanField(default=False)
    failure_reason = models.TextField(blank=True)

    call_sid = models.CharField(max_length=34, blank=True, db_index=True)
    participant_status = models.CharField(max_length=16, blank=True)
    queue_time_ms = models.IntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)

    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    error_more_info = models.CharField(max_length=255, blank=True)
    error_http_status = models.IntegerField(null=True, blank=True)

    answered_by = models.CharField(max_length=32, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    call_duration_seconds = models.IntegerField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True)
    sip_response_code = models.IntegerField(null=True, blank=True)
    muted = models.BooleanField(null=True, blank=True)
    hold = models.BooleanField(null=True, blank=True)
    coaching = models.BooleanField(null=True, blank=True)
    recording_sid = models.CharField(max_length=34, blank=True)
    recording_duration_seconds = models.IntegerField(null=True, blank=True)
    # The conference SequenceNumber that set muted/hold/coaching: a toggle only takes the
    # value of a later event, so callbacks arriving out of order cannot flip it back.
    muted_sequence = models.IntegerField(null=True, blank=True)
    hold_sequence = models.IntegerField(null=True, blank=True)
    coaching_sequence = models.IntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Issue 12: when the reconciler last asked the API, and when personal data was purged.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [(action.codename, action.description) for action in roles.ACTIONS]
        default_permissions = ("view", "change")
        constraints = [
            models.UniqueConstraint(fields=["conference", "label"], name=UNIQUE_LABEL_CONSTRAINT),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["operator", "-created_at"]),
            models.Index(fields=["-created_at", "-id"]),
            # Issue 10: each history filter walks its own index in page order (keyset).
            # Number and label search use pg_trgm GIN indexes (migration 0007, PostgreSQL).
            models.Index(fields=["conference", "-created_at", "-id"], name="dial_conference_time"),
            models.Index(
                fields=["operator", "status", "-created_at", "-id"],
                name="dial_operator_status_time",
            ),
            models.Index(
                fields=["error_code", "-created_at", "-id"],
                name="dial_error_time",
                condition=models.Q(error_code__isnull=False),
            ),
            models.Index(
                fields=["answered_by", "-created_at", "-id"], name="dial_answered_by_time"
            ),
        ]

    def __str__(self) -> str:
        return f"dial #{self.pk} to {self.to_number}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_DIAL_STATUSES


class DialAttempt(models.Model):
    """One try at Create Participant (or one check that decided not to try)."""

    class Outcome(models.TextChoices):
        PLACED = "placed", "Placed"
        ADOPTED = "adopted", "Found already placed"
        RETRYABLE_ERROR = "retryable", "Failed, will retry"
        PERMANENT_ERROR = "permanent", "Failed"
        UNKNOWN = "unknown", "No answer from Twilio"
        # Twilio's answer was not about the call asked for: never stored, checked instead.
        MISMATCH = "mismatch", "Twilio's answer did not match the request"

    dial = models.ForeignKey(DialRequest, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    latency_ms = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    decided_by = models.CharField(max_length=32, blank=True)
    http_status = models.IntegerField(null=True, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["dial", "started_at"]

    def __str__(self) -> str:
        return f"attempt {self.number} of dial #{self.dial_id}: {self.outcome}"


# Groups of statuses the health checks look for.
LIVE_DIAL_STATUSES = (
    DialStatus.QUEUED,
    DialStatus.INITIATED,
    DialStatus.RINGING,
    DialStatus.IN_PROGRESS,
)


BEFORE_ANSWER_STATUSES = (DialStatus.QUEUED, DialStatus.INITIATED, DialStatus.RINGING)


WAITING_FOR_WORKER_STATUSES = (DialStatus.PENDING, DialStatus.PLACING)
