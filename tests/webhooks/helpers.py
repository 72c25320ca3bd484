"""Helpers only the webhook tests use; sending callbacks lives in tests.support.callbacks."""

from __future__ import annotations

from conferences.core import crypto
from conferences.models import CallbackEvent, TwilioAccount, WebhookRejection


def make_account(sid: str, token: str, previous_token: str = "") -> TwilioAccount:
    return TwilioAccount.objects.create(
        name=f"Account {sid[-4:]}",
        account_sid=sid,
        auth_token_encrypted=crypto.encrypt(token),
        previous_auth_token_encrypted=crypto.encrypt(previous_token),
    )


def rejections(kind: str | None = None, reason: str | None = None) -> int:
    counters = WebhookRejection.objects.all()
    if kind:
        counters = counters.filter(kind=kind)
    if reason:
        counters = counters.filter(reason=reason)
    return sum(counters.values_list("count", flat=True))


def stored() -> int:
    return CallbackEvent.objects.count()
