"""The `X-Twilio-Signature` Twilio puts on every webhook request.

base64(HMAC-SHA1(auth token, URL + each parameter name in sorted order followed by its
sorted values)). For GET callbacks the parameters are already in the URL and nothing is
appended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
