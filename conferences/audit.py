"""The audit trail: every operator action, with who, when, what, the target and the outcome."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser

from conferences.models import AuditEntry, Conference, DialRequest, User

logger = logging.getLogger(__name__)


class AuditAction:
    """Names used in AuditEntry.action (one place, so filters and tests agree)."""

    DIAL = "dial"
    BULK_DIAL = "bulk-dial"
    CANCEL = "cancel"
    MUTE = "mute"
    UNMUTE = "unmute"
    HOLD = "hold"
    RESUME = "resume"
    COACH = "coach"
    STOP_COACHING = "stop-coaching"
    MODIFY = "modify"
    REMOVE = "remove"
    ANNOUNCE = "announce"
    END_CONFERENCE = "end-conference"
    RECONCILE = "reconcile"
    EXPORT = "export"
    LISTEN_RECORDING = "listen-recording"
    PURGE = "purge"


def record(
    action: str,
    *,
    actor: User | AnonymousUser | None,
    dial: DialRequest | None = None,
    conference: Conference | None = None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. `detail` must hold no secrets (it is shown to supervisors)."""
    if dial is not None and conference is None:
        conference = dial.conference
    if dial is not None and not target_type:
        target_type, target_id = "dial", dial.pk
    elif conference is not None and not target_type:
        target_type, target_id = "conference", conference.pk
    entry = AuditEntry.objects.create(
        actor=actor if isinstance(actor, User) else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        dial=dial,
        conference=conference,
        outcome=outcome,
        detail=dict(detail or {}),
    )
    logger.info("audit: %s %s %s#%s %s", entry.actor, action, target_type, target_id, outcome)
    return entry
