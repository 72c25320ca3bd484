"""No input to any form or filter of any page answers 5xx (issue 18, finding 5).

Derived, not listed: the routes come from the URL conf; the field names (and the values
pages offer for them) from the forms, filters and links the pages really render
(tests/security/page_forms.py). Hypothesis then sends generated text (NUL and other
control characters included), sizes around every column's limit, far dates and huge
numbers to each route — as query parameters and as POST bodies, as a page and as an htmx
fragment, in path arguments too — and demands an answer below 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conferences.accounts import roles
from conferences.models import User
from tests.security.helpers import object_query, owned_objects, send, signed_in, text_of
from tests.security.page_forms import RouteFields, read_forms
from tests.support.routes import (
    OBJECT_ARGUMENTS,
    PLAIN_ARGUMENTS,
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

# The admin is Django's own (staff only, its forms Django's tests' business); every other
# route is fed.
ROUTES = [route for route in all_routes() if not route.is_admin]
# Lengths at and around the limits of the columns and fields typed text goes to, and the
# csv module's 128 KiB field limit.
EDGES = [0, 1, 32, 33, 34, 35, 64, 65, 80, 81, 100, 101, 120, 121, 128, 129, 150, 151]
SIZES = st.sampled_from([*EDGES, 200, 255, 256, 4097, 131_073, 200_001]).map(lambda n: "7" * n)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
STRANGE = st.sampled_from(["\r\n", "\x1b", "\u202e", "\ufeff", "%00", "'; --", "١٢٣"])
WITH_NUL = st.tuples(TEXT, st.just("\x00"), TEXT).map("".join)
NASTY = st.tuples(TEXT, STRANGE, TEXT).map("".join)
FAR_DAYS = st.sampled_from([date.min, date.max])
DAYS = st.one_of(
    st.sampled_from([date(1969, 12, 31), date(3000, 1, 1)]),
    st.dates(min_value=date.min, max_value=date.max),
)
NUMBERS = st.integers(min_value=-(2**70), max_value=2**70).map(str)
# What str.isdigit() calls digits and int() does not read, or reads as another number, or
# refuses for its length (4,300 digits); and ids past PostgreSQL's bigint.
DIGIT_TRICKS = st.sampled_from(["²", "٣", "\uff11\uff12", "9" * 19, "7" * 4301, " 7", "7\n", "+7"])
# Path arguments that are text in the URL (`<str:…>`): fed like fields; numbers too.
TEXT_ARGUMENTS = {*PLAIN_ARGUMENTS, "call_sid"}

# 5xx that are a route's meaning, whatever the input.
MEANT = {"healthz-detail": {503}}  # a dependency (worker, beat) is down: this test runs none

_FIELDS: dict[str, RouteFields] = {}  # by route name; the same in every test of a process


@dataclass(frozen=True)
class FuzzWorld:
    operator: OwnedObjects
    supervisor: OwnedObjects
    fields: dict[str, RouteFields]


@pytest.fixture(scope="module")
def twilio() -> Iterator[Sandbox]:
    with running_sandbox(speed=50.0, seed=5) as box:
        yield box


@pytest.fixture
def world(db: None, twilio: Sandbox, settings: Any) -> FuzzWorld:
    settings.TWILIO_API_BASE_URL = twilio.url
    # The webhook self-test calls the app at its public address: nothing listens there.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"
    settings.WEBHOOK_SELF_TEST_TIMEOUT_SECONDS = 0.5
    # Zones far from UTC: a viewer's midnight of 0001-01-01 or after 9999-12-31 is no date.
    olga = make_user("olga", roles.OPERATOR, time_zone="America/Adak")
    sam = make_user("sam", roles.SUPERVISOR, is_staff=True, time_zone="Pacific/Kiritimati")
    operator, supervisor = owned_objects(olga, "alpha"), owned_objects(sam, "sierra")
    if not _FIELDS:
        _FIELDS.update(_fields_on_pages([operator, supervisor]))
    return FuzzWorld(operator=operator, supervisor=supervisor, fields=_FIELDS)


def _fields_on_pages(owners: list[OwnedObjects]) -> dict[str, RouteFields]:
    """Every form, filter and link on every page each user can open."""
    found: dict[str, RouteFields] = {}
    for owner in owners:
        client = signed_in(owner.user, owner.api_secret)
        for route in ROUTES:
            for filling in fillings(route, owner):
                path = path_of(route, filling)
                answer = client.get(path)
                if answer.status_code == 200 and "html" in answer.get("Content-Type", ""):
                    read_forms(path, text_of(answer), found)
    return found


def test_the_pages_show_forms_for_the_routes_that_take_input(world: FuzzWorld):
    """The reading finds forms at all (else the property below would feed nothing)."""
    for name in (
        "conferences:dial-submit",
        "conferences:history",
        "conferences:history-overview",
        "conferences:audit-trail",
        "conferences:invitees-import",
        "conferences:conference-settings",
        "conferences:event-plan",
        "login",
    ):
        assert world.fields.get(name) and world.fields[name].offered, name
    assert {"from", "to", "conference", "label"} <= set(world.fields["conferences:history"].offered)
    assert "preset_name" in world.fields["conferences:dial-submit"].offered


# One kind of odd value per test: each kind reaches every route, whatever Hypothesis draws.
ODD_VALUES = {
    "text": TEXT,
    "nul": WITH_NUL,
    "control-and-tricks": NASTY,
    "sizes": SIZES,
    "far-days": FAR_DAYS.map(date.isoformat),
    # As a datetime-local field sends them (the event planner's start).
    "far-times": FAR_DAYS.map(lambda day: f"{day.isoformat()}T00:00"),
    "days": DAYS.map(date.isoformat),
    "numbers": NUMBERS,
    "digit-tricks": DIGIT_TRICKS,
}


@st.composite
def _inputs(
    draw: st.DrawFn, fields: RouteFields | None, owner: OwnedObjects, odd: st.SearchStrategy[str]
) -> dict[str, Any]:
    """Every field the pages send to the route, most with a value a page offers (so forms
    get past their other fields), some overwritten with one kind of odd value."""
    offered = {name: set(values) for name, values in (fields.offered if fields else {}).items()}
    for name, value in object_query(owner).items():
        offered.setdefault(name, set()).add(value)
    values: dict[str, Any] = {}
    for name in sorted(offered):
        choices = sorted(offered[name])
        usual = st.sampled_from(choices) if choices else TEXT
        value = draw(odd) if draw(st.booleans()) else draw(usual)
        values[name] = [value, draw(odd)] if draw(st.integers(0, 9)) == 0 else value
    return values


def _path(
    route: Route, owner: OwnedObjects, data: st.DataObject, odd: st.SearchStrategy[str]
) -> str:
    filling = data.draw(st.sampled_from(fillings(route, owner)), label="path")
    for argument in route.arguments:
        if argument in TEXT_ARGUMENTS:
            strange = odd.filter(lambda v: v and "/" not in v)
            filling[argument] = data.draw(st.one_of(st.just(filling[argument]), strange))
        elif argument in OBJECT_ARGUMENTS and argument not in ("call_sid",):
            huge = st.sampled_from(["0", str(2**31), str(2**63), str(10**30)])
            filling[argument] = data.draw(st.one_of(st.just(filling[argument]), huge))
    return path_of(route, filling)


@pytest.mark.parametrize("odd", ODD_VALUES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
@settings(
    max_examples=4,
    deadline=None,
    # A failing example is reported as found: shrinking a page's worth of fields through
    # the database takes minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_input_to_any_form_or_filter_answers_5xx(
    route: Route, odd: str, world: FuzzWorld, data: st.DataObject
):
    owner = data.draw(st.sampled_from([world.operator, world.supervisor]), label="user")
    user: User = owner.user
    method = data.draw(st.sampled_from(["GET", "POST"]), label="method")
    fragment = data.draw(st.booleans(), label="htmx")
    path = _path(route, owner, data, ODD_VALUES[odd])
    values = data.draw(_inputs(world.fields.get(route.name), owner, ODD_VALUES[odd]))
    query, body = (values, {}) if method == "GET" else ({}, values)
    client = signed_in(user, owner.api_secret)
    answer = send(client, method, path, fragment=fragment, query=query, body=body)
    if answer.status_code not in MEANT.get(route.name, set()):
        assert answer.status_code < 500, f"{method} {path} -> {answer.status_code}"
