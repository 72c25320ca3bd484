"""The app's records: users, Twilio accounts, conferences, dials, attempts and callbacks."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from conferences import roles


def _default_time_zone() -> str:
    return str(settings.TIME_ZONE)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class User(AbstractUser):
    """A person who signs in; their role is their group (operator or supervisor)."""

    time_zone = models.CharField(
        max_length=64,
        default=_default_time_zone,
        validators=[validate_time_zone],
        help_text="Times are shown in this zone, e.g. Europe/Berlin.",
    )

    @property
    def role(self) -> str | None:
        return roles.role_of(self)


class TwilioAccount(models.Model):
    """A Twilio account or subaccount the app dials through. Secrets are stored encrypted."""

    name = models.CharField(max_length=100)
    account_sid = models.CharField(max_length=34, unique=True)
    auth_token_encrypted = models.TextField(blank=True)
    previous_auth_token_encrypted = models.TextField(
        blank=True, help_text="Still accepted on callbacks during a token rotation."
    )
    api_key_sid = models.CharField(max_length=34, blank=True)
    api_key_secret_encrypted = models.TextField(blank=True)
    calls_per_second = models.FloatField(default=1.0)
    caller_ids = models.JSONField(default=list, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_twilio_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_sid})"


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


class DialStatus(models.TextChoices):
    """A dial's life, in the only order it may move (see services.status_rank)."""

    PENDING = "pending", "Waiting for a worker"
    PLACING = "placing", "Placing the call"
    QUEUED = "queued", "Queued at Twilio"
    INITIATED = "initiated", "Dialing"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In the conference"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    CANCELED = "canceled", "Canceled"
    FAILED = "failed", "Failed"


# Forward order of a dial's states; every final state ranks last (first final one wins).
DIAL_STATUS_RANK: dict[str, int] = {
    DialStatus.PENDING: 0,
    DialStatus.PLACING: 1,
    DialStatus.QUEUED: 2,
    DialStatus.INITIATED: 3,
    DialStatus.RINGING: 4,
    DialStatus.IN_PROGRESS: 5,
    DialStatus.COMPLETED: 6,
    DialStatus.BUSY: 6,
    DialStatus.NO_ANSWER: 6,
    DialStatus.CANCELED: 6,
    DialStatus.FAILED: 6,
}


def statuses_before(status: str) -> list[str]:
    """The states a dial may move from to reach `status` (the forward-only rule)."""
    rank = DIAL_STATUS_RANK[status]
    return [name for name, other in DIAL_STATUS_RANK.items() if other < rank]


FINAL_DIAL_STATUSES = frozenset(
    {
        DialStatus.COMPLETED,
        DialStatus.BUSY,
        DialStatus.NO_ANSWER,
        DialStatus.CANCELED,
        DialStatus.FAILED,
    }
)


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
    # The Create Participant body as sent, without secrets (SipAuthPassword is elsewhere).
    params = models.JSONField(default=dict)
    # Where the operator's own callback URLs get relayed: {kind: {url, method, events}}.
    relay_targets = models.JSONField(default=dict, blank=True)
    sip_auth_password_encrypted = models.TextField(blank=True)

    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
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
            models.UniqueConstraint(
                fields=["conference", "label"], name="unique_label_per_conference"
            ),
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


class CallbackKind(models.TextChoices):
    CALL_STATUS = "call-status", "Call status"
    CONFERENCE = "conference", "Conference event"
    RECORDING = "recording", "Recording"
    CONFERENCE_RECORDING = "conference-recording", "Conference recording"
    AMD = "amd", "Machine detection"
    RECONCILED = "reconciled", "Reconciled from the API"


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


class RelayAllowedHost(models.Model):
    """A host operators may have their callbacks relayed to; supervisors keep the list."""

    host = models.CharField(max_length=253, help_text="Exact host name, e.g. hooks.example.com")
    port = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty allows the scheme's default port only."
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "port"], name="unique_relay_host_port"),
            models.UniqueConstraint(
                fields=["host"],
                condition=models.Q(port__isnull=True),
                name="unique_relay_host_default_port",
            ),
        ]
        ordering = ["host", "port"]

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Host names compare case-insensitively; store them one way so lookups stay exact.
        self.host = self.host.strip().lower().rstrip(".")
        super().save(*args, **kwargs)


class RelayDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"
    REFUSED = "refused", "Refused (not allowed)"


class RelayDelivery(models.Model):
    """One callback forwarded to an operator's own URL: its attempts and outcome."""

    event = models.OneToOneField(
        CallbackEvent, on_delete=models.CASCADE, related_name="relay_delivery"
    )
    dial = models.ForeignKey(
        DialRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="relays"
    )
    url = models.CharField(max_length=2000)
    method = models.CharField(max_length=4, default="POST")
    status = models.CharField(
        max_length=16, choices=RelayDeliveryStatus.choices, default=RelayDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"relay of event #{self.event_id} to {self.url}: {self.status}"


# --- Audit trail ----------------------------------------------------------------------


class AuditEntry(models.Model):
    """Who did what to which record, and how it ended. Append-only: the app never edits or
    deletes an entry (the admin shows them read-only)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    action = models.CharField(max_length=40, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    dial = models.ForeignKey(
        DialRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    conference = models.ForeignKey(
        Conference, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    outcome = models.CharField(max_length=16, default="ok")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["actor", "-at"]),
            models.Index(fields=["conference", "-at"]),
            models.Index(fields=["dial", "at"]),
        ]

    def __str__(self) -> str:
        target = f"{self.target_type}#{self.target_id}"
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.pop("allow_update", False):
            raise ValueError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("audit entries are append-only")


# --- Dial presets ---------------------------------------------------------------------


class DialPreset(models.Model):
    """A named set of advanced dial options. Shared presets (no owner) are for everyone and
    are managed by supervisors; an operator's own presets are theirs alone."""

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dial_presets",
    )
    # Form field values (not wire values), without To/From/Label/conference or secrets.
    values = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_preset_name_per_owner"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(owner__isnull=True),
                name="unique_shared_preset_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'shared' if self.owner_id is None else self.owner})"

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


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
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"controls of {self.conference}"


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

    def __str__(self) -> str:
        return f"{self.count} x {self.measure} on {self.kind} at {self.hour:%Y-%m-%d %H}:00"
