"""Twilio's REST error answers: `{"code", "message", "more_info", "status"}`."""

from __future__ import annotations

from typing import Final

MORE_INFO: Final = "https://www.twilio.com/docs/errors/{code}"

# Twilio's dictionary entry "400 Bad Request" covers parameters that fail validation
# where no more specific code exists.
BAD_REQUEST: Final = 400
SERVER_ERROR: Final = 20500
SERVICE_UNAVAILABLE: Final = 20503
AUTHENTICATE: Final = 20003
METHOD_NOT_ALLOWED: Final = 20004
NOT_FOUND: Final = 20404
TOO_MANY_REQUESTS: Final = 20429
TO_REQUIRED: Final = 21201
INVALID_URL: Final = 21205
INVALID_METHOD: Final = 21209
INVALID_TO: Final = 21211
INVALID_FROM: Final = 21212
FROM_REQUIRED: Final = 21213
TO_UNREACHABLE: Final = 21214
GEO_PERMISSIONS: Final = 21215
BLOCKED_NUMBER: Final = 21216
INVALID_CALL_STATE: Final = 21220
INVALID_MACHINE_DETECTION: Final = 21234
CALL_QUEUE_FULL: Final = 22005
CONFERENCE_FULL: Final = 16020
CONFERENCE_COMPLETED: Final = 16022
INVALID_LABEL: Final = 16024
LABEL_IN_USE: Final = 16026
COACHED_PARTICIPANT_ABSENT: Final = 16028


class ApiError(Exception):
    """An answer the API gives instead of the resource; raised anywhere below the handler."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code),
            "status": self.status,
        }


def bad_request(code: int, message: str) -> ApiError:
    return ApiError(400, code, message)


def invalid_parameter(message: str) -> ApiError:
    return ApiError(400, BAD_REQUEST, message)


def not_found(path: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"The requested resource {path} was not found")


def authentication_failed() -> ApiError:
    return ApiError(401, AUTHENTICATE, "Authenticate")


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, METHOD_NOT_ALLOWED, f"Method not allowed: {method}")


def too_many_requests() -> ApiError:
    return ApiError(429, TOO_MANY_REQUESTS, "Too Many Requests")
