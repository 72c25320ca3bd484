"""Encryption for secrets the app must keep for a while (SIP passwords, account tokens).

The key is FIELD_ENCRYPTION_KEY, separate from SECRET_KEY; when unset, one is generated
into var/field_encryption_key on first use (like SECRET_KEY), readable by this user only.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _key_file() -> Path:
    return Path(settings.VAR_DIR) / "field_encryption_key"


@functools.cache
def _fernet() -> Fernet:
    configured = str(settings.FIELD_ENCRYPTION_KEY or "").strip()
    if configured:
        # Any passphrase works: derive the 32-byte Fernet key from it.
        digest = hashlib.sha256(configured.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))
    path = _key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
    key = path.read_bytes().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it or set FIELD_ENCRYPTION_KEY")
    return Fernet(key)


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY changed since it was saved"
        ) from None
