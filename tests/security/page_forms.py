"""The forms, filters and links the pages really show, read from their HTML: which route
each one sends to, with which field names, and the values the page offers for them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

from django.urls import Resolver404, resolve

FIELD_TAGS = {"input", "select", "textarea", "button"}


@dataclass
class RouteFields:
    """Every field name seen sent to one route, with the values pages offered for it."""

    offered: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, name: str, value: str | None) -> None:
        values = self.offered[name]
        if value is not None:
            values.add(value)


class _PageReader(HTMLParser):
    def __init__(self, page_path: str, found: dict[str, RouteFields]) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.found = found
        self.form_route: str | None = None
        self.select_name: str | None = None

    def _route_of(self, target: str | None) -> str | None:
        path = urlsplit(target or self.page_path).path or self.page_path
        try:
            match = resolve(path)
        except Resolver404:
            return None
        return match.view_name

    def _query_fields(self, target: str | None) -> None:
        route = self._route_of(target)
        if route is None or not target:
            return
        fields = self.found.setdefault(route, RouteFields())
        for name, value in parse_qsl(urlsplit(target).query, keep_blank_values=True):
            fields.add(name, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for attribute in ("href", "hx-get", "hx-post", "action"):
            if named.get(attribute):
                self._query_fields(named[attribute])
        if tag == "form":
            target = named.get("hx-post") or named.get("hx-get") or named.get("action")
            self.form_route = self._route_of(target)
            if self.form_route is not None:
                self.found.setdefault(self.form_route, RouteFields())
        elif tag in FIELD_TAGS and self.form_route and named.get("name"):
            fields = self.found[self.form_route]
            name = str(named["name"])
            fields.add(name, named.get("value"))
            if tag == "select":
                self.select_name = name
        elif tag == "option" and self.form_route and self.select_name:
            self.found[self.form_route].add(self.select_name, named.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form_route = None
        elif tag == "select":
            self.select_name = None


def read_forms(page_path: str, html: str, found: dict[str, RouteFields]) -> None:
    """Add the forms, filters and links of one page to `found` (by route name)."""
    reader = _PageReader(page_path, found)
    reader.feed(html)
    reader.close()
