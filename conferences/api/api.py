"""The API object: its routers, its one error shape and its URLs (mounted at /api/v1/)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from django.utils.cache import patch_cache_control
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from conferences.api import conferences, dial_body, dials, events, invitees
from conferences.api.auth import TokenAuth
from conferences.api.errors import (
    ApiError,
    FieldError,
    body_too_large,
    error_payload,
    invalid_json,
)

DESCRIPTION = """\
Dial callers into Twilio conferences, follow them, act on live conferences and keep invite
lists, with the same rules and roles as the pages.

**Authentication**: a personal API token (the API page in the navigation,
`/account/api-tokens/`) as
`Authorization: Bearer cdd_…`. It acts as its user, with exactly their role.

**Errors** always have one shape: `{"error": {"code", "message", "request_id", "fields":
[{"field", "messages", "rule"}]}}`; dial parameters are named as Twilio names them and
`rule` quotes Twilio's rule. Every answer carries `X-Request-ID`.

**Limits**: each token may make `API_RATE_LIMIT_PER_MINUTE` requests a minute; beyond, 429
with `Retry-After`.

**Retries**: send `Idempotency-Key` with POST /dials; the same key and body return the
same dial (200, `Idempotent-Replayed: true`) and never place a second call. A key is
kept for `API_IDEMPOTENCY_KEY_HOURS` (24 by default); then the same key makes a new dial.
"""

api = NinjaAPI(
    title="Conference dial-in dashboard API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api-v1",
)
api.add_router("", dials.router)
api.add_router("", conferences.router)
api.add_router("", invitees.router)
api.add_router("", events.router)


def _error(
    request: HttpRequest, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    fields: list[FieldError] = extra.pop("fields", [])
    response = api.create_response(request, error_payload(code, message, fields), status=status)
    for name, value in extra.pop("headers", {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    return _error(
        request, error.status, error.code, error.message, fields=error.fields, headers=error.headers
    )


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    """ninja's own checks (types, unknown names): the field is the last part of its path,
    which for a dial body is Twilio's parameter name."""
    fields = []
    for problem in error.errors:
        location = [
            str(part)
            for part in problem.get("loc", ())
            if part not in ("body", "query", "path", "header")
        ]
        rule = dial_body.rule_for(location[-1]) if location else ""
        fields.append(
            FieldError(field=".".join(location), messages=[str(problem.get("msg", ""))], rule=rule)
        )
    return _error(
        request,
        422,
        "invalid",
        "The request does not fit the API: fix the fields named.",
        fields=fields,
    )


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    response = _error(
        request, 401, "unauthorized", "Send a valid personal API token: Authorization: Bearer cdd_…"
    )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "forbidden", str(error) or "Your role cannot do that.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "No such resource.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error.__cause__, ValueError):  # JSONDecodeError, UnicodeDecodeError
        # ninja wraps any body it cannot parse in one message; say where the JSON broke.
        return _api_error(request, invalid_json(error.__cause__))
    return _error(request, error.status_code, "http_error", str(error))


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    """Django refuses the body by its Content-Length, before reading it."""
    limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
    return _api_error(request, body_too_large(limit, "DATA_UPLOAD_MAX_MEMORY_SIZE"))


def _private(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answers hold personal data (numbers, names, calls): no browser or proxy keeps them."""

    @functools.wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return answer


def urlpatterns() -> tuple[list[URLPattern | URLResolver], str, str]:
    """api.urls, each view private and exempt from LoginRequiredMiddleware: tokens, not
    sessions, sign API callers in (the document and its docs page are public)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _private(pattern.callback)
            pattern.callback.login_required = False  # type: ignore[attr-defined]
    return patterns, app_name, namespace
