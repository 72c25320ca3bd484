"""The gateway's one error type, and the translation of every SDK and transport failure into it.

A GatewayError says whether a retry can help and whether the request may have taken effect
at Twilio (the hard case for exactly-once dialing)."""

from __future__ import annotations

from collections.abc import Mapping

import requests
from twilio.base.exceptions import TwilioRestException


class GatewayError(Exception):
    """Twilio said no, or did not answer.

    retryable: trying again later can succeed (429, 5xx, timeouts, connection errors).
    outcome_unknown: the request may have reached Twilio and taken effect (a read timeout
    or a 5xx after sending), so a create must be checked before it is repeated.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        more_info: str = "",
        retryable: bool,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.more_info = more_info
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown


def _translate(error: Exception) -> GatewayError:
    if isinstance(error, TwilioRestException):
        status = int(error.status or 0)
        code = int(error.code) if error.code else None
        more_info = ""
        details = getattr(error, "details", None)
        if isinstance(details, Mapping):
            more_info = str(details.get("more_info", ""))
        if not more_info and code:
            more_info = f"https://www.twilio.com/docs/errors/{code}"
        return GatewayError(
            str(error.msg or "Twilio refused the request"),
            code=code,
            status=status,
            more_info=more_info,
            retryable=status == 429 or status >= 500,
            # A 5xx may come after Twilio acted on the request; a 429 comes before.
            outcome_unknown=status >= 500,
        )
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError):
        return GatewayError(f"could not connect to Twilio: {error}", retryable=True)
    if isinstance(error, requests.ConnectionError) and "Connection refused" in str(error):
        return GatewayError("Twilio refused the connection", retryable=True)
    if isinstance(error, requests.RequestException):
        # Read timeout, reset after sending, …: the request may have been acted on.
        return GatewayError(
            f"no answer from Twilio: {error.__class__.__name__}",
            retryable=True,
            outcome_unknown=True,
        )
    return GatewayError(f"Twilio client error: {error}", retryable=False)
