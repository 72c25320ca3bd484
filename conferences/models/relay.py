"""Where callbacks may be relayed to (the supervisors' allow-list) and each delivery."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.models.callbacks import CallbackEvent
from conferences.models.dials import DialRequest


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
        verbose_name_plural = "relay deliveries"

    def __str__(self) -> str:
        return f"relay of event #{self.event_id} to {self.url}: {self.status}"
