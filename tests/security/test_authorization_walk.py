"""Every route of the URL conf, walked by an operator against another operator's and a
supervisor's objects of every kind (dial, conference, invitee, run, preset, recording):
GET and POST, as a page and as an htmx fragment (issue 18).

The routes come from the URL conf (tests/support/routes.py), so a new route is walked the
day it is added, and a path argument the walk cannot fill fails here. An operator gets
403/404 (or 405/302) for a route naming someone else's object, never 5xx, never a page
with words only those objects carry, and changes nothing of theirs. The supervisor, who
may see everything, reaches the same objects: proof the walk aims at real ones."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from conferences.accounts import roles
from conferences.models import User
from tests.security.helpers import (
    API_PREFIX,
    Snapshot,
    markers,
    object_body,
    object_query,
    owned_objects,
    send,
    signed_in,
    text_of,
)
from tests.support.routes import (
    OBJECT_ARGUMENTS,
    OwnedObjects,
    Route,
    all_routes,
    fillings,
    path_of,
)
from tests.support.sandbox import running_sandbox
from tests.support.users import make_user
from twilio_sandbox import Sandbox

pytestmark = pytest.mark.django_db

ROUTES = all_routes()
APP_ROUTES = [route for route in ROUTES if not route.is_admin]
ADMIN_ROUTES = [route for route in ROUTES if route.is_admin]
VARIANTS = [("GET", False), ("GET", True), ("POST", False), ("POST", True)]
# What naming someone else's object may answer: refused, not found, wrong method, or (the
# admin's, staff only) its sign-in page.
REFUSED = {302, 403, 404, 405}
# The API checks a body's shape before it looks anything up: a body it cannot read is
# refused the same way whichever conference the path names, so it tells nothing either.
REFUSED_BY_THE_API = REFUSED | {400, 415, 422}
# Routes a supervisor too finds nothing at, and why.
NOTHING_THERE_FOR_ANYONE = {
    # The recording lives at Twilio, which has none of this world's (tests/history
    # covers listening).
    "conferences:history-recording": "Twilio has no such recording",
}


@dataclass(frozen=True)
class World:
    alice: User  # the operator walking
    alice_secret: str  # her API token
    bob: OwnedObjects  # another operator
    sam: OwnedObjects  # a supervisor


@pytest.fixture(scope="module")
def twilio() -> Iterator[Sandbox]:
    with running_sandbox(speed=50.0, seed=18) as box:
        yield box


@pytest.fixture
def world(db: None, twilio: Sandbox, settings: Any) -> World:
    # Supervisors' actions reach Twilio (the sandbox), which knows none of these calls.
    settings.TWILIO_API_BASE_URL = twilio.url
    alice = make_user("alice", roles.OPERATOR)
    hers = owned_objects(alice, "alpha")  # her own, so her pages are not empty
    bob = owned_objects(make_user("bob", roles.OPERATOR), "bravo")
    sam = owned_objects(make_user("sam", roles.SUPERVISOR, is_staff=True), "sierra")
    return World(alice=alice, alice_secret=hers.api_secret, bob=bob, sam=sam)


def names_an_object(route: Route) -> bool:
    return any(arg in OBJECT_ARGUMENTS or arg == "object_id" for arg in route.arguments)


def test_the_walk_covers_every_route_and_can_fill_every_path_argument(world: World):
    assert len(APP_ROUTES) >= 30 and ADMIN_ROUTES
    for route in ROUTES:
        assert fillings(route, world.bob), route  # raises UnfillableArgument otherwise


def walk_as_alice(route: Route, world: World) -> None:
    for owner in (world.bob, world.sam):
        before = Snapshot.of(owner)
        for filling in fillings(route, owner):
            path = path_of(route, filling)
            query, body = object_query(owner), object_body(owner, me=world.alice)
            said = " ".join([path, *query.values(), *map(str, body.values())])
            for method, fragment in VARIANTS:
                client = signed_in(world.alice, world.alice_secret)
                answer = send(client, method, path, fragment=fragment, query=query, body=body)
                where = f"{method} {path} {'htmx' if fragment else 'page'} -> {answer.status_code}"
                assert answer.status_code < 500, where
                if names_an_object(route):
                    refused = REFUSED_BY_THE_API if path.startswith(API_PREFIX) else REFUSED
                    assert answer.status_code in refused, where
                page = text_of(answer)
                # Words of theirs she typed herself may come back; no others may.
                leaked = [word for word in markers(owner) if word in page and word not in said]
                assert not leaked, f"{where} shows {leaked}"
        assert Snapshot.of(owner) == before, f"{route}: changed {owner.user}'s objects"


@pytest.mark.parametrize("route", APP_ROUTES, ids=str)
def test_an_operator_gets_nothing_of_anyone_elses_objects(route: Route, world: World):
    walk_as_alice(route, world)


def test_an_operator_gets_nothing_of_anyone_elses_objects_in_the_admin(world: World):
    for route in ADMIN_ROUTES:
        walk_as_alice(route, world)


@pytest.mark.parametrize("route", [r for r in APP_ROUTES if names_an_object(r)], ids=str)
def test_a_supervisor_reaches_every_operators_objects(route: Route, world: World):
    for filling in fillings(route, world.bob):
        path = path_of(route, filling)
        statuses = []
        for method, fragment in VARIANTS:
            client = signed_in(world.sam.user, world.sam.api_secret)
            query, body = object_query(world.bob), object_body(world.bob, me=world.sam.user)
            answer = send(client, method, path, fragment=fragment, query=query, body=body)
            assert answer.status_code < 500, f"{method} {path} -> {answer.status_code}"
            statuses.append(answer.status_code)
        if route.name not in NOTHING_THERE_FOR_ANYONE:
            assert set(statuses) - {404, 405}, f"{path}: the supervisor found nothing either"
