"""Twilio accounts the product dials through (the auth token stored encrypted)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
