"""The API tokens page: make a personal token (shown once), see when each was last used,
revoke one (staff: anyone's)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from conferences.api import tokens
from conferences.api.forms import NewTokenForm
from conferences.models import User

PAGE = "conferences/api/tokens.html"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 -- LoginRequiredMiddleware guards these views
    return user


def _render(
    request: HttpRequest, form: NewTokenForm, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {
        "form": form,
        "tokens": list(tokens.tokens_for(request.user)[:200]),
        "docs_url": reverse("api-v1:openapi-view"),
        "openapi_url": reverse("api-v1:openapi-json"),
        **extra,
    }
    return render(request, PAGE, context, status=status)


@require_GET
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens (staff: everyone's) and the form to make one."""
    return _render(request, NewTokenForm())


@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    """Make a token and show it this once; only its digest is kept."""
    form = NewTokenForm(request.POST)
    if form.is_valid():
        try:
            made = tokens.create_token(user=_user(request), name=form.cleaned_data["name"])
        except tokens.TokenRefused as refused:
            form.add_error("name", str(refused))
        else:
            return _render(request, NewTokenForm(), status=201, new_token=made)
    return _render(request, form, status=422)


@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke a token at once: the next request with it is refused."""
    token = get_object_or_404(tokens.tokens_for(request.user), pk=token_id)
    tokens.revoke_token(actor=_user(request), token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("conferences:api-tokens")
