"""One row per action a user or a sweep took."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.models.conferences import Conference
from conferences.models.dials import DialRequest

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
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        target = f"{self.target_type}#{self.target_id}"
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.pop("allow_update", False):
            raise ValueError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("audit entries are append-only")
