"""`Idempotency-Key` on dial creates: a client that retries gets the dial it already made.

The key is the user's (two tokens of one user share keys, as one client rotating tokens
would expect). Requests with one key are serialised by an advisory lock until the first
one's transaction ends, so two racing retries cannot both place a call."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction

from conferences.api.errors import ApiError, FieldError
from conferences.models import ApiIdempotencyKey, DialRequest, User

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


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
