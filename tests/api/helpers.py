"""Calling the API as a client does: a Bearer token on every request, JSON in and out."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from conferences.api import tokens
from conferences.models import User

CALLER_ID = "+15005550006"


def token_for(user: User, name: str = "test client") -> str:
    """A fresh personal token's whole text, as the tokens page shows it once."""
    return tokens.create_token(user=user, name=name).secret


class ApiClient:
    """Django's test client with the token's Authorization header on every request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.client = Client()

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, params: Any = None, **headers: str) -> Any:
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            path,
            json.dumps(body if body is not None else {}),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.patch(
            path, json.dumps(body), content_type="application/json", headers=self._headers(headers)
        )

    def send(self, method: str, path: str, text: str, content_type: str) -> Any:
        call = getattr(self.client, method.lower())
        return call(path, text, content_type=content_type, headers=self._headers(None))


def error_of(response: Any) -> dict[str, Any]:
    """The error body, checked to have the documented shape."""
    body = json.loads(response.content)
    error = body["error"]
    assert set(error) == {"code", "message", "request_id", "fields"}, body
    assert error["request_id"] == response["X-Request-ID"]
    return error
