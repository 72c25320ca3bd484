"""Personal API tokens: made and revoked by their user (staff revoke any), kept hashed.

A token reads `cdd_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole
token must match the stored digest. The secret has 256 random bits, so a fast digest is
safe (nothing to brute-force) and costs a request microseconds, unlike a password hash."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from conferences.models import ApiToken, User

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "cdd"  # noqa: S105 -- a marker for secret scanners, not a secret
_PREFIX_BYTES = 6
_SECRET_BYTES = 32
# The whole token's shape. The secret is URL-safe base64, so it may start, end or be
# full of "_": it is found by position, never by splitting on "_".
TOKEN_PATTERN = re.compile(
    rf"{TOKEN_PREFIX}_(?P<prefix>[0-9a-f]{{{2 * _PREFIX_BYTES}}})"
    rf"_(?P<secret>[A-Za-z0-9_-]{{{(_SECRET_BYTES * 4 + 2) // 3}}})"
)
# last_used_at is written at most this often per token: a busy client would otherwise
# turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=30)
MAX_TOKENS_PER_USER = 20


class TokenRefused(Exception):
    """The token cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class NewToken:
    """A token just made: `secret` is the only time the whole token is ever shown."""

    token: ApiToken
    secret: str


def _digest(whole: str) -> str:
    return hashlib.sha256(whole.encode()).hexdigest()


def create_token(*, user: User, name: str) -> NewToken:
    """Make a personal token for `user`; the caller shows `secret` once and forgets it."""
    name = name.strip()
    if not name:
        raise TokenRefused("Name the token (e.g. the system that will use it).")
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
        raise TokenRefused(f"You have {MAX_TOKENS_PER_USER} tokens: revoke one first.")
    prefix = secrets.token_hex(_PREFIX_BYTES)
    whole = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, secret_sha256=_digest(whole)
    )
    logger.info("API token %s… made for %s", prefix, user)
    return NewToken(token=token, secret=whole)


def revoke_token(*, actor: User, token: ApiToken) -> None:
    """Revoke a token at once: its owner may revoke their own, staff any."""
    if token.user_id != actor.pk and not actor.is_staff:
        raise PermissionDenied("Only the token's owner or staff can revoke it.")
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
        logger.info("API token %s… revoked by %s", token.prefix, actor)


def tokens_for(viewer: User | AnonymousUser) -> QuerySet[ApiToken]:
    """Tokens the viewer may see and revoke: their own; staff see everyone's."""
    if not viewer.is_authenticated:
        return ApiToken.objects.none()
    tokens = ApiToken.objects.select_related("user", "revoked_by").order_by("-created_at")
    return tokens if viewer.is_staff else tokens.filter(user_id=viewer.pk)


def authenticate(whole: str) -> ApiToken | None:
    """The active token this text is, with its (active) user; None for anything else."""
    shape = TOKEN_PATTERN.fullmatch(whole)
    if shape is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=shape["prefix"]).first()
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(whole)):
        return None
    if token.revoked_at is not None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
