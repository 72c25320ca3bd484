"""Personal API tokens and the idempotency keys of dials created through the API."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from conferences.models.dials import DialRequest

# --- API tokens -------------------------------------------------------------------------


class ApiToken(models.Model):
    """A personal token for /api/v1/: it acts as its user, with exactly their role.

    Only a SHA-256 digest of the token is kept (the secret is 256 random bits, so a plain
    digest is as good as a slow hash and costs microseconds a request); the short public
    prefix finds the row without scanning digests."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_time")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiIdempotencyKey(models.Model):
    """One `Idempotency-Key` a user sent with a dial create: the same key again returns
    this dial (same body) or a conflict (another body), never a second call. Kept for
    API_IDEMPOTENCY_KEY_HOURS: a client retries within minutes, and a key kept for ever
    would make the table grow with every API dial."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    body_sha256 = models.CharField(max_length=64)
    dial = models.ForeignKey(DialRequest, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_dial_per_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_age")]

    def __str__(self) -> str:
        return f"{self.key} → dial {self.dial_id}"
