"""Every route of the URL conf, and how to fill its path arguments with someone's objects.

Tests that must cover every page (the authorization walk, the no-5xx property test) take
their routes from here, so a new route is walked the day it is added; a path argument
nobody taught this module to fill fails those tests instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conferences.callbacks.meaning import WEBHOOK_KINDS
from conferences.models import (
    ROLE_ORDER,
    ApiToken,
    BulkDialRun,
    Conference,
    DialPreset,
    DialRequest,
    Invitee,
    ScheduledConference,
    User,
)
from conferences.schema import GROUPS


@dataclass(frozen=True)
class Route:
    """One URL pattern: its namespaced name (unnamed ones by pattern), its path arguments."""

    name: str
    pattern: str
    arguments: tuple[str, ...]
    callback: Callable[..., Any]
    named: bool

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:")

    @property
    def admin_model(self) -> type[Model] | None:
        model_admin = getattr(self.callback, "model_admin", None)
        return model_admin.model if model_admin is not None else None

    def __str__(self) -> str:
        return self.name


def _walk(patterns: Sequence[Any], prefix: str, namespace: str) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            label = entry.name or pattern
            yield Route(
                name=f"{namespace}:{label}" if namespace else label,
                pattern=pattern,
                arguments=tuple(entry.pattern.regex.groupindex),
                callback=entry.callback,
                named=bool(entry.name),
            )


def all_routes() -> list[Route]:
    """Every route of ROOT_URLCONF, the admin's included."""
    return list(_walk(get_resolver().url_patterns, "", ""))


@dataclass(frozen=True)
class OwnedObjects:
    """One user's objects of every kind a route can name."""

    user: User
    conference: Conference
    dial: DialRequest  # has a call SID and a recording
    invitee: Invitee
    run: BulkDialRun
    preset: DialPreset
    event: ScheduledConference  # the conference's schedule
    token: ApiToken
    api_secret: str  # the token itself: API routes are walked with it, pages with a session


class UnfillableArgument(LookupError):
    """A route's path argument this module does not know how to fill."""


def _object_for(kind: str, objects: OwnedObjects) -> Model:
    return {
        "dial": objects.dial,
        "conference": objects.conference,
    }[kind]


# Path arguments that name an object, and which of the owner's objects fills them.
OBJECT_ARGUMENTS: dict[str, Callable[[OwnedObjects], str]] = {
    "pk": lambda o: str(o.conference.pk),
    "conference_id": lambda o: str(o.conference.pk),
    "event_id": lambda o: str(o.event.pk),
    "token_id": lambda o: str(o.token.pk),
    "dial_id": lambda o: str(o.dial.pk),
    "invitee_id": lambda o: str(o.invitee.pk),
    "run_id": lambda o: str(o.run.pk),
    "user_id": lambda o: str(o.user.pk),
    "call_sid": lambda o: o.dial.call_sid,
    # The admin's: its models are users, relay hosts, audit entries …, never another
    # operator's conference; staff only, so an operator never gets past its sign-in.
    "id": lambda o: str(o.user.pk),
    "content_type_id": lambda o: str(ContentType.objects.get_for_model(User).pk),
}
# Path arguments that name no object: every value worth walking.
PLAIN_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "key": tuple(group.key for group in GROUPS),
    "step": ("remove", "coach", "keep"),
    "kind": WEBHOOK_KINDS,
    "nonce": ("walk-nonce",),
    "target": ("dial", "conference"),
    "app_label": ("conferences",),
    "url": ("nowhere/",),
    "role": tuple(str(role) for role in ROLE_ORDER),
}
# Routes whose `pk` is a scheduled conference's, not a conference's.
EVENT_ROUTE_PREFIX = "conferences:event-"


def fillings(route: Route, objects: OwnedObjects) -> list[dict[str, str]]:
    """Every way to fill the route's path arguments with these objects (one per plain value
    combination); UnfillableArgument for an argument nobody taught this module."""
    combos: list[dict[str, str]] = [{}]
    for argument in route.arguments:
        if argument == "object_id":
            values: tuple[str, ...] = (_admin_object_id(route, objects),)
        elif argument in OBJECT_ARGUMENTS:
            values = (OBJECT_ARGUMENTS[argument](objects),)
        elif argument in PLAIN_ARGUMENTS:
            values = PLAIN_ARGUMENTS[argument]
        else:
            raise UnfillableArgument(f"{route.name} ({route.pattern}): {argument}")
        combos = [{**combo, argument: value} for combo in combos for value in values]
    if route.name.startswith(EVENT_ROUTE_PREFIX) and "pk" in route.arguments:
        for combo in combos:
            combo["pk"] = str(objects.event.pk)
    if "target" in route.arguments:
        # /ops/reconcile/<target>/<pk>: the pk is of the kind the target names.
        for combo in combos:
            combo["pk"] = str(_object_for(combo["target"], objects).pk)
    return combos


def _admin_object_id(route: Route, objects: OwnedObjects) -> str:
    model = route.admin_model
    if model is None or model is User:
        return str(objects.user.pk)
    row = model._default_manager.order_by("pk").first()
    return str(row.pk) if row is not None else "1"


def path_of(route: Route, filling: dict[str, str]) -> str:
    """The route's path with its arguments filled in."""
    if route.named:
        return reverse(route.name, kwargs=filling)
    path = route.pattern  # an unnamed admin route: fill its converters or regex groups
    for name, value in filling.items():
        path = _replace_regex_group(_replace_converter(path, name, value), name, value)
    return "/" + path.replace("^", "").replace("$", "")


def _replace_converter(path: str, name: str, value: str) -> str:
    start = path.find("<")
    while start != -1:
        end = path.find(">", start)
        inside = path[start + 1 : end]
        if inside.split(":")[-1] == name:
            return path[:start] + value + path[end + 1 :]
        start = path.find("<", end)
    return path


def _replace_regex_group(path: str, name: str, value: str) -> str:
    marker = f"(?P<{name}>"
    start = path.find(marker)
    if start == -1:
        return path
    depth, index = 0, start
    while index < len(path):
        if path[index] == "(":
            depth += 1
        elif path[index] == ")":
            depth -= 1
            if depth == 0:
                return path[:start] + value + path[index + 1 :]
        index += 1
    return path
