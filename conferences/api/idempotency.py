"""`Idempotency-Key` on dial creates: a client that retries gets the dial it already made.

The key is the user's (two tokens of one user share keys, as one client rotating tokens
would expect). Requests with one key are serialised by an advisory lock until the first
one's transaction ends, so two racing retries cannot both place a call. A key is kept
for API_IDEMPOTENCY_KEY_HOURS: after that the same key makes a new dial, and an hourly
task deletes the expired ones."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from conferences.api.errors import ApiError, FieldError
from conferences.models import ApiIdempotencyKey, DialRequest, User

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _expired_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.API_IDEMPOTENCY_KEY_HOURS)


def check_key(key: str) -> str:
    """The key as sent, or ApiError 400 naming the header."""
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            "invalid_header",
            f"{HEADER} must be printable text of at most {MAX_KEY_LENGTH} characters.",
            fields=[
                FieldError(
                    field=HEADER,
                    messages=["Not a usable key."],
                    rule=f"printable text, 1 to {MAX_KEY_LENGTH} characters (a UUID is ideal)",
                )
            ],
        )
    return key


def dial_once(
    *, user: User, key: str, body_sha256: str, create: Callable[[], DialRequest]
) -> tuple[DialRequest, bool]:
    """The dial this key made before (and False), or `create()`'s new one (and True).

    ApiError 409 when the key was used with another body: the client mixed up two dials."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"api-idempotency:{user.pk}:{key}"],
            )
        # An expired key the hourly task has not deleted yet is forgotten here, so when a
        # key expires does not depend on when that task last ran.
        ApiIdempotencyKey.objects.filter(
            user=user, key=key, created_at__lt=_expired_before(timezone.now())
        ).delete()
        found = ApiIdempotencyKey.objects.filter(user=user, key=key).select_related("dial").first()
        if found is not None:
            if found.body_sha256 != body_sha256:
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    f"This {HEADER} was used for another dial (#{found.dial_id}) with a "
                    "different body; use a new key for a new dial.",
                    fields=[FieldError(field=HEADER, messages=["Already used."])],
                )
            return found.dial, False
        dial = create()
        ApiIdempotencyKey.objects.create(user=user, key=key, body_sha256=body_sha256, dial=dial)
        return dial, True


def forget_expired_keys(now: datetime | None = None) -> int:
    """Delete the keys older than API_IDEMPOTENCY_KEY_HOURS (their dials stay); how many."""
    deleted, _ = ApiIdempotencyKey.objects.filter(
        created_at__lt=_expired_before(now or timezone.now())
    ).delete()
    if deleted:
        logger.info("forgot %s expired %s value(s)", deleted, HEADER)
    return deleted
