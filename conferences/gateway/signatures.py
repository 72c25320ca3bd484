"""Twilio's request signature: validated on every callback, computed for every relay and self-
test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence

from django.utils.datastructures import MultiValueDict
from twilio.request_validator import RequestValidator

# --- Webhook signatures (issue 8: the receiver in callbacks/views.py) ------------------


def validate_signature(
    token: str, url: str, params: Mapping[str, Sequence[str]], signature: str
) -> bool:
    """Whether `signature` is Twilio's X-Twilio-Signature for this URL and these parameters.

    `params` maps each name to all its values (empty for GET: they are in the URL). The
    SDK's RequestValidator also tries the URL with and without the default port.
    """
    # RequestValidator reads repeated names through getlist(), as on a Django QueryDict.
    multi = MultiValueDict({name: list(values) for name, values in params.items()})
    return bool(RequestValidator(token).validate(url, multi, signature))


# --- Signing ---------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, URL + sorted names, each with its values)).

    Values are sorted and repeated values counted once, as twilio's RequestValidator
    does, so any receiver validating with an SDK accepts the relay.
    """
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
