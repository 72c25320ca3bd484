"""The API's one error shape, and the exceptions that turn into it.

Every failure answers `{"error": {"code", "message", "request_id", "fields"}}`; `fields`
names each bad input (Twilio's parameter name for dial parameters) with what is wrong and
the rule it breaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from ninja import Schema

from dashboard.observability import request_id_var


class FieldError(Schema):
    field: str
    messages: list[str]
    rule: str = ""


class ErrorBody(Schema):
    code: str
    message: str
    request_id: str
    fields: list[FieldError] = []


class ErrorResponse(Schema):
    """Every 4xx answer of the API."""

    error: ErrorBody


class ApiError(Exception):
    """Answer with `status` and the error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}, or not yours to see.")


def body_too_large(limit: int, which_limit: str) -> ApiError:
    return ApiError(
        413, "body_too_large", f"The body is over {limit:,} bytes ({which_limit}): send less."
    )


def invalid_json(error: ValueError) -> ApiError:
    """A body that is not JSON (or not UTF-8), saying where it broke."""
    return ApiError(400, "invalid_json", f"The body is not valid JSON: {error}.")


def error_payload(
    code: str, message: str, fields: list[FieldError] | None = None
) -> dict[str, Any]:
    body = ErrorBody(
        code=code, message=message, request_id=request_id_var.get(), fields=fields or []
    )
    return {"error": body.model_dump()}


# Statuses every operation may answer with the error shape (documented on each).
COMMON_ERRORS: dict[int, type[ErrorResponse]] = {
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    413: ErrorResponse,
    422: ErrorResponse,
    429: ErrorResponse,
}


def with_errors(*statuses: int) -> dict[int, type[ErrorResponse]]:
    """COMMON_ERRORS plus these statuses (409, 502), for an operation's `response=`."""
    return {**COMMON_ERRORS, **dict.fromkeys(statuses, ErrorResponse)}


def form_errors(
    form: forms.Form,
    *,
    name_for: Callable[[str], str] = str,
    rule_for: Callable[[str], str] = lambda _name: "",
) -> list[FieldError]:
    """A bound form's errors as the API names them (`name_for` maps a form field's name)."""
    found = []
    for field_name, errors in form.errors.items():
        name = name_for(field_name)
        found.append(
            FieldError(field=name, messages=[str(error) for error in errors], rule=rule_for(name))
        )
    return found
