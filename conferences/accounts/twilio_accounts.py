"""Twilio accounts: the environment's account is the default; others live in the admin."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import IntegrityError, transaction

from conferences.core import crypto
from conferences.gateway.types import AccountCredentials
from conferences.models import TwilioAccount


def default_account() -> TwilioAccount:
    """The account from the environment, created or brought in line with it."""
    sid = settings.TWILIO_ACCOUNT_SID
    account = TwilioAccount.objects.filter(account_sid=sid).first()
    if account is None:
        try:
            with transaction.atomic():
                TwilioAccount.objects.filter(is_default=True).update(is_default=False)
                account = TwilioAccount.objects.create(
                    name="Sandbox" if settings.TWILIO_USES_SANDBOX else "Default",
                    account_sid=sid,
                    is_default=True,
                    calls_per_second=settings.TWILIO_CPS,
                    caller_ids=list(settings.TWILIO_CALLER_IDS),
                    auth_token_encrypted=crypto.encrypt(settings.TWILIO_AUTH_TOKEN),
                    previous_auth_token_encrypted=crypto.encrypt(
                        settings.TWILIO_PREVIOUS_AUTH_TOKEN
                    ),
                    api_key_sid=settings.TWILIO_API_KEY_SID,
                    api_key_secret_encrypted=crypto.encrypt(settings.TWILIO_API_KEY_SECRET),
                )
        except IntegrityError:  # another process created it first
            account = TwilioAccount.objects.get(account_sid=sid)
        return account
    # The environment wins for its own account: a rotated token takes effect on restart.
    if crypto.decrypt(account.auth_token_encrypted) != settings.TWILIO_AUTH_TOKEN:
        account.auth_token_encrypted = crypto.encrypt(settings.TWILIO_AUTH_TOKEN)
        account.previous_auth_token_encrypted = crypto.encrypt(settings.TWILIO_PREVIOUS_AUTH_TOKEN)
        account.save(update_fields=["auth_token_encrypted", "previous_auth_token_encrypted"])
    return account


def credentials(account: TwilioAccount) -> AccountCredentials:
    if account.api_key_sid and account.api_key_secret_encrypted:
        username, password = (
            account.api_key_sid,
            crypto.decrypt(account.api_key_secret_encrypted),
        )
    else:
        username, password = account.account_sid, crypto.decrypt(account.auth_token_encrypted)
    return AccountCredentials(
        account_sid=account.account_sid,
        username=username,
        password=password,
        api_base_url=settings.TWILIO_API_BASE_URL,
    )


# Every callback needs its account's tokens: keep them in memory briefly instead of a query
# and two decryptions per request. A rotated token takes effect within this many seconds.
SIGNING_TOKENS_CACHE_SECONDS = 30.0
_signing_tokens_cache: dict[str, tuple[float, list[str]]] = {}


def signing_tokens(account_sid: str) -> list[str]:
    """Auth tokens that may have signed a callback from this account (current, then previous)."""
    cached = _signing_tokens_cache.get(account_sid)
    if cached is not None and time.monotonic() - cached[0] < SIGNING_TOKENS_CACHE_SECONDS:
        return cached[1]
    tokens = _load_signing_tokens(account_sid)
    if tokens:  # unknown accounts are looked up again: one may be added in the admin
        _signing_tokens_cache[account_sid] = (time.monotonic(), tokens)
    return tokens


def forget_signing_tokens() -> None:
    _signing_tokens_cache.clear()


def forget_signing_tokens_on_change(**_: object) -> None:
    forget_signing_tokens()


def _load_signing_tokens(account_sid: str) -> list[str]:
    if account_sid == settings.TWILIO_ACCOUNT_SID:
        default_account()  # make sure the environment's account exists with its current token
    account = TwilioAccount.objects.filter(account_sid=account_sid).first()
    if account is None:
        return []
    tokens = [
        crypto.decrypt(account.auth_token_encrypted),
        crypto.decrypt(account.previous_auth_token_encrypted),
    ]
    return [token for token in tokens if token]
