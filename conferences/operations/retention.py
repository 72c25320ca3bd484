"""Retention: personal data older than RETENTION_DAYS is purged; the figures stay.

Phone numbers, labels, names, SIP usernames, recording URLs and the raw parameters that
carry them are replaced (numbers by "", free text by "[purged]", labels by a unique
marker); statuses, times, durations, answered_by, error codes, event names, sequence
numbers, operators and conference ids stay, so timelines, charts and the audit trail read
as before. Recordings are deleted at Twilio first: a record whose recording could not be
deleted keeps its data until a later run deletes it. Every purge is audited; a dry run
only counts.

Audit entries themselves are never rewritten: whoever writes one keeps personal data out
of its detail (ids, not numbers).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from conferences.accounts import twilio_accounts
from conferences.audit import trail as audit
from conferences.gateway import client as gateway
from conferences.gateway import errors
from conferences.gateway import types as gateway_types
from conferences.models import (
    CallbackEvent,
    CallbackKind,
    Conference,
    DialAttempt,
    DialRequest,
    Invitee,
    TwilioAccount,
    User,
)

logger = logging.getLogger(__name__)

PURGED = "[purged]"
BATCH_SIZE = 500

# Create Participant parameters that name or reach a person (DialRequest.params).
PERSONAL_DIAL_PARAMS = frozenset(
    {
        "To",
        "From",
        "Label",
        "CallerId",
        "CallerDisplayName",
        "CallReason",
        "CallToken",
        "SipAuthUsername",
        "SipAuthPassword",
    }
)
# Fields of Twilio's Create Participant answer that do (DialRequest.response).
PERSONAL_RESPONSE_FIELDS = frozenset(
    {"label", "to", "from", "from_", "to_formatted", "from_formatted", "caller_name"}
)
# Callback parameters that do (CallbackEvent.params), geography derived from numbers too.
PERSONAL_CALLBACK_PARAMS = frozenset(
    {
        "To",
        "From",
        "Called",
        "Caller",
        "CallerName",
        "ForwardedFrom",
        "ParticipantLabel",
        "ParticipantLabelEndingConference",
        "FriendlyName",
        "RecordingUrl",
        "SipUsername",
        *(
            f"{who}{where}"
            for who in ("To", "From", "Called", "Caller")
            for where in ("City", "State", "Zip", "Country")
        ),
    }
)
RECORDING_KINDS = (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING)

# Numbers, SIP and client addresses inside free text (Twilio's error messages quote the
# To number). Not inside a word, so the digits of a SID are left alone.
_ADDRESS_IN_TEXT = re.compile(
    r"(?<![\w+])\+?\d[\d ().-]{5,}\d(?!\w)|\b(?:sip|client):[^\s'\"]+", re.IGNORECASE
)


def scrub_text(text: str) -> str:
    """Free text with the phone numbers and SIP/client addresses in it replaced."""
    return _ADDRESS_IN_TEXT.sub(PURGED, text) if text else text


def redact(values: Mapping[str, Any] | None, personal: Iterable[str]) -> dict[str, Any]:
    """The mapping with each personal value replaced (lists value by value); others kept."""
    names = frozenset(personal)
    out: dict[str, Any] = {}
    for name, value in (values or {}).items():
        if name not in names or value in ("", None, [], {}):
            out[name] = value
        elif isinstance(value, list):
            out[name] = [PURGED for _ in value]
        else:
            out[name] = PURGED
    return out


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


@dataclass
class PurgeReport:
    """What a purge did (or, dry, would do)."""

    cutoff: datetime
    dry_run: bool
    dials: int = 0
    attempts: int = 0
    events: int = 0
    conferences: int = 0
    invitees: int = 0
    recordings: int = 0  # deleted at Twilio (dry: to delete)
    recordings_already_gone: int = 0
    recordings_failed: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(
            self.dials
            or self.events
            or self.conferences
            or self.invitees
            or self.recordings
            or self.recordings_already_gone
            or self.recordings_failed
        )

    def lines(self) -> list[str]:
        verb = "Would purge" if self.dry_run else "Purged"
        lines = [
            f"{verb} personal data recorded before {self.cutoff:%Y-%m-%d %H:%M} UTC:",
            f"  dials: {self.dials} (and {self.attempts} attempt logs)",
            f"  callback events: {self.events}",
            f"  conferences: {self.conferences} (and {self.invitees} invitees)",
            f"  recordings {'to delete' if self.dry_run else 'deleted'} at Twilio: "
            f"{self.recordings}",
        ]
        if self.recordings_already_gone:
            lines.append(f"  recordings already gone at Twilio: {self.recordings_already_gone}")
        if self.recordings_failed:
            lines.append(
                f"  recordings NOT deleted (their records kept for the next run): "
                f"{', '.join(self.recordings_failed)}"
            )
        return lines


# --- What is due ----------------------------------------------------------------------


def _due_dials(cutoff: datetime) -> QuerySet[DialRequest]:
    return DialRequest.objects.filter(created_at__lt=cutoff, purged_at__isnull=True)


def _due_events(cutoff: datetime) -> QuerySet[CallbackEvent]:
    return CallbackEvent.objects.filter(received_at__lt=cutoff, purged_at__isnull=True)


def _due_conferences(cutoff: datetime) -> QuerySet[Conference]:
    # A conference still dialed into after the cutoff keeps its name for those dials.
    recent = DialRequest.objects.filter(created_at__gte=cutoff).values("conference_id")
    return Conference.objects.filter(created_at__lt=cutoff, purged_at__isnull=True).exclude(
        pk__in=recent
    )


@dataclass(frozen=True)
class DueRecording:
    sid: str
    account_sid: str


def _due_recordings(cutoff: datetime) -> list[DueRecording]:
    found: dict[str, DueRecording] = {}
    for sid, account_sid in (
        _due_dials(cutoff)
        .exclude(recording_sid="")
        .values_list("recording_sid", "account__account_sid")
    ):
        found.setdefault(sid, DueRecording(sid, account_sid))
    events = _due_events(cutoff).filter(kind__in=RECORDING_KINDS)
    for params, account_sid in events.values_list("params", "account_sid").iterator():
        sid = str((params or {}).get("RecordingSid") or "")
        if sid:
            found.setdefault(sid, DueRecording(sid, account_sid))
    return sorted(found.values(), key=lambda recording: recording.sid)


# --- The purge ------------------------------------------------------------------------


def purge_personal_data(
    *,
    days: int | None = None,
    dry_run: bool = False,
    actor: User | AnonymousUser | None = None,
    trigger: str = "daily task",
    now: datetime | None = None,
) -> PurgeReport | None:
    """Purge personal data older than `days` (RETENTION_DAYS when None; 0 keeps all: None)."""
    days = settings.RETENTION_DAYS if days is None else days
    if days <= 0:
        return None
    now = now or timezone.now()
    cutoff = cutoff_for(days, now)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    recordings = _due_recordings(cutoff)
    if dry_run:
        report.dials = _due_dials(cutoff).count()
        report.attempts = DialAttempt.objects.filter(dial__in=_due_dials(cutoff)).count()
        report.events = _due_events(cutoff).count()
        report.conferences = _due_conferences(cutoff).count()
        report.invitees = Invitee.objects.filter(conference__in=_due_conferences(cutoff)).count()
        report.recordings = len(recordings)
        return report
    kept = _delete_recordings(recordings, report)
    _purge_dials(cutoff, now, kept, report)
    _purge_events(cutoff, now, kept, report)
    _purge_conferences(cutoff, now, report)
    if report.anything:
        audit.record(
            audit.AuditAction.PURGE,
            actor=actor,
            target_type="retention",
            target_id=cutoff.date().isoformat(),
            outcome="failed" if report.recordings_failed else "ok",
            detail={
                "trigger": trigger,
                "retention_days": days,
                "cutoff": cutoff.isoformat(),
                "dials": report.dials,
                "attempts": report.attempts,
                "events": report.events,
                "conferences": report.conferences,
                "invitees": report.invitees,
                "recordings_deleted": report.recordings,
                "recordings_already_gone": report.recordings_already_gone,
                "recordings_failed": report.recordings_failed[:50],
            },
        )
    logger.info("retention: %s", "; ".join(line.strip() for line in report.lines()))
    return report


def _delete_recordings(recordings: list[DueRecording], report: PurgeReport) -> set[str]:
    """Delete each recording at Twilio; the SIDs that could not be deleted."""
    credentials: dict[str, gateway_types.AccountCredentials | None] = {}
    failed: set[str] = set()
    for recording in recordings:
        if recording.account_sid not in credentials:
            account = TwilioAccount.objects.filter(account_sid=recording.account_sid).first()
            credentials[recording.account_sid] = (
                twilio_accounts.credentials(account) if account else None
            )
        creds = credentials[recording.account_sid]
        if creds is None:
            failed.add(recording.sid)
            continue
        try:
            deleted = gateway.delete_recording(
                creds, recording.sid, timeout=settings.TWILIO_HTTP_TIMEOUT_SECONDS
            )
        except errors.GatewayError as error:
            logger.warning("recording %s not deleted: %s", recording.sid, error.message)
            failed.add(recording.sid)
            continue
        if deleted:
            report.recordings += 1
        else:
            report.recordings_already_gone += 1
    report.recordings_failed = sorted(failed)
    return failed


def _batches(rows: QuerySet[Any]) -> Iterable[list[Any]]:
    """Rows in primary-key order, a batch at a time; safe while the rows are updated."""
    last_pk = 0
    while True:
        batch = list(rows.filter(pk__gt=last_pk).order_by("pk")[:BATCH_SIZE])
        if not batch:
            return
        last_pk = batch[-1].pk
        yield batch


def _purge_dials(cutoff: datetime, now: datetime, kept: set[str], report: PurgeReport) -> None:
    rows = _due_dials(cutoff).exclude(recording_sid__in=kept)
    for batch in _batches(rows):
        for dial in batch:
            dial.to_number = ""
            dial.from_number = ""
            dial.label = f"purged-{dial.pk}"  # labels are unique per conference
            dial.params = redact(dial.params, PERSONAL_DIAL_PARAMS)
            dial.response = (
                redact(dial.response, PERSONAL_RESPONSE_FIELDS)
                if isinstance(dial.response, dict)
                else dial.response
            )
            dial.error_message = scrub_text(dial.error_message)
            dial.failure_reason = scrub_text(dial.failure_reason)
            dial.purged_at = now
        attempts = list(DialAttempt.objects.filter(dial__in=batch))
        for attempt in attempts:
            attempt.detail = scrub_text(attempt.detail)
        with transaction.atomic():
            DialRequest.objects.bulk_update(
                batch,
                [
                    "to_number",
                    "from_number",
                    "label",
                    "params",
                    "response",
                    "error_message",
                    "failure_reason",
                    "purged_at",
                ],
            )
            DialAttempt.objects.bulk_update(attempts, ["detail"])
        report.dials += len(batch)
        report.attempts += len(attempts)


def _purge_events(cutoff: datetime, now: datetime, kept: set[str], report: PurgeReport) -> None:
    # An event of a recording not yet deleted keeps its URL until a later run deletes it.
    waiting = Q(kind__in=RECORDING_KINDS, params__RecordingSid__in=sorted(kept)) if kept else Q()
    rows = _due_events(cutoff).exclude(waiting) if kept else _due_events(cutoff)
    for batch in _batches(rows):
        for event in batch:
            event.params = redact(event.params, PERSONAL_CALLBACK_PARAMS)
            event.purged_at = now
        CallbackEvent.objects.bulk_update(batch, ["params", "purged_at"])
        report.events += len(batch)


def _purge_conferences(cutoff: datetime, now: datetime, report: PurgeReport) -> None:
    for batch in _batches(_due_conferences(cutoff)):
        invitees = list(Invitee.objects.filter(conference__in=batch))
        for conference in batch:
            conference.friendly_name = PURGED
            conference.purged_at = now
        for invitee in invitees:
            invitee.number = f"purged-{invitee.pk}"  # unique per conference
            invitee.name = PURGED
            invitee.label = ""
        with transaction.atomic():
            Conference.objects.bulk_update(batch, ["friendly_name", "purged_at"])
            Invitee.objects.bulk_update(invitees, ["number", "name", "label"])
        report.conferences += len(batch)
        report.invitees += len(invitees)
