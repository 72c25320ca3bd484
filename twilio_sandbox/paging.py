"""Twilio's v2010 list envelope; twilio-python follows `next_page_uri` to the next page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from twilio_sandbox.validation import PageRequest

Item = tuple[str, dict[str, Any]]  # (sid, JSON body), newest first


def envelope(
    key: str,
    items: Sequence[Item],
    path: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
) -> dict[str, Any]:
    start = _start(items, request)
    chunk = items[start : start + request.page_size]

    def uri(page: int, token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(request.page_size)), ("Page", str(page))]
        if token:
            query.append(("PageToken", token))
        return f"{path}?{urlencode(query)}"

    has_next = start + len(chunk) < len(items) and bool(chunk)
    return {
        key: [body for _, body in chunk],
        "first_page_uri": uri(0),
        "next_page_uri": uri(request.page + 1, "PA" + chunk[-1][0]) if has_next else None,
        "previous_page_uri": uri(request.page - 1) if request.page > 0 else None,
        "uri": uri(request.page, request.page_token),
        "page": request.page,
        "page_size": request.page_size,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
    }


def _start(items: Sequence[Item], request: PageRequest) -> int:
    """A page token names the last item of the page before; else fall back to Page."""
    token = request.page_token or ""
    if token.startswith("PA"):
        for index, (sid, _) in enumerate(items):
            if sid == token[2:]:
                return index + 1
    return request.page * request.page_size
