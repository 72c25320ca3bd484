"""No page shows template syntax: Django's `{# #}` comments end at the line's end, so a
two-line one is printed as text (the dial page once showed one seven times)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROOT = Path(__file__).resolve().parents[2]
RAW = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")


def test_every_template_comment_closes_on_its_own_line():
    unclosed = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "templates").rglob("*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.count("{#") != line.count("#}")
    ]
    assert unclosed == []


def _pages_without_arguments(patterns: list, prefix: str = "") -> list[str]:
    names = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names += _pages_without_arguments(entry.url_patterns, namespace)
        elif isinstance(entry, URLPattern) and entry.name and not entry.pattern.converters:
            names.append(f"{prefix}{entry.name}")
    return names


PAGES = [
    name
    for name in _pages_without_arguments(get_resolver().url_patterns)
    if name.startswith("conferences:")
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["operator", "supervisor"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_no_rendered_page_shows_template_syntax(client, request, role, htmx):
    client.force_login(request.getfixturevalue(role))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    shown = {}
    for name in PAGES:
        response = client.get(reverse(name), **headers)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            found = RAW.findall(response.content.decode())
            if found:
                shown[name] = found
    assert PAGES and shown == {}
