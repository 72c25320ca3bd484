"""Saved dial settings an operator can start a dial from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

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
