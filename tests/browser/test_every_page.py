"""Every screen, as each role sees it, in a phone's width and a desktop's: nothing scrolls
sideways, no template syntax shows, axe-core finds no serious or critical violation, and
on the dial page the Dial button is in the first screen. Screenshots of each are kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect

from conferences.accounts import roles
from conferences.accounts.twilio_accounts import default_account
from conferences.models import (
    Conference,
    ConferenceStatus,
    DialRequest,
    DialStatus,
    Invitee,
    User,
)
from tests.support.browser import serious_violations, sign_in
from tests.support.users import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
RAW_SYNTAX = ("{#", "#}", "{%", "%}", "{{", "}}")


@dataclass(frozen=True)
class World:
    operator: User
    supervisor: User
    conference: Conference
    dial: DialRequest


@pytest.fixture
def world(db: None) -> World:
    """A live conference the operator runs, two callers on one number (told apart by name
    and label), an ended call and an invitee: every page has something to show."""
    operator = make_user("olivia", roles.OPERATOR)
    supervisor = make_user("sam", roles.SUPERVISOR, is_staff=True)
    now = timezone.now()
    conference = Conference.objects.create(
        account=default_account(),
        friendly_name="Board meeting",
        sid="CF" + "b" * 32,
        created_by=operator,
        status=ConferenceStatus.IN_PROGRESS,
        started_at=now,
    )
    dials = [
        DialRequest.objects.create(
            account=conference.account,
            conference=conference,
            operator=operator,
            to_number="+15005550006",
            from_number="+15005550006",
            label=label,
            params={"To": "+15005550006", "From": "+15005550006", "Label": label},
            call_sid="CA" + str(index) * 32,
            status=status,
            participant_status="connected" if status == DialStatus.IN_PROGRESS else "",
            joined_at=now if status == DialStatus.IN_PROGRESS else None,
            answered_by="human",
        )
        for index, (label, status) in enumerate(
            [
                ("bob", DialStatus.IN_PROGRESS),
                ("alice", DialStatus.IN_PROGRESS),
                ("carol", DialStatus.COMPLETED),
            ],
            start=1,
        )
    ]
    Invitee.objects.create(
        conference=conference,
        position=1,
        number="+15005550006",
        name="Bob Jones",
        label="bob",
        added_by=operator,
        last_dial=dials[0],
    )
    return World(operator=operator, supervisor=supervisor, conference=conference, dial=dials[0])


def pages_for(world: World, role: str) -> list[tuple[str, str]]:
    """(name, path) of each screen the role has."""
    pages = [
        ("dial", reverse("conferences:dial")),
        ("conferences", reverse("conferences:conference-list")),
        ("conference", reverse("conferences:conference-detail", args=[world.conference.pk])),
        ("history", reverse("conferences:history")),
        ("call", reverse("conferences:history-detail", args=[world.dial.pk])),
    ]
    if role == roles.SUPERVISOR:
        pages += [
            ("overview", reverse("conferences:history-overview")),
            ("webhooks", reverse("conferences:webhook-health")),
            ("audit", reverse("conferences:audit-trail")),
        ]
    return pages


def sideways_scroll(page: Page) -> int:
    """How many pixels the page could scroll sideways (0 when it fits)."""
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


# The outermost elements reaching past the right edge: what to fix when a page overflows.
WIDEST = """() => {
  const edge = document.documentElement.clientWidth;
  const clipped = (e) => e.closest(".table-scroll, [tabindex='0']") !== null;
  const past = [...document.querySelectorAll("body *")].filter(
    (e) => e.getBoundingClientRect().right > edge + 1 && !clipped(e));
  return past.filter((e) => !past.includes(e.parentElement)).slice(0, 4).map((e) =>
    e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.className && typeof e.className === "string" ? "." + e.className.split(" ").join(".") : "") +
    " " + Math.round(e.getBoundingClientRect().right) + "px");
}"""


# Charts whose drawing reaches past their box (the box once stayed 140 px for a 279 px chart).
SPILLING_CHARTS = """() => [...document.querySelectorAll("figure svg")].filter((svg) =>
  svg.getBoundingClientRect().bottom > svg.closest("figure").getBoundingClientRect().bottom + 1
).map((svg) => svg.id)"""


@pytest.fixture
def screens(page: Page, live_server, world: World, artifacts_dir: Path) -> Iterator[None]:
    yield


@pytest.mark.parametrize("role", [roles.OPERATOR, roles.SUPERVISOR])
def test_every_page_fits_a_phone_shows_no_template_syntax_and_passes_axe(
    page: Page, live_server, world: World, role: str, artifacts_dir: Path, browser_problems
):
    sign_in(page, live_server.url, "olivia" if role == roles.OPERATOR else "sam")
    found: dict[str, list[str]] = {}
    for name, path in pages_for(world, role):
        for size_name, size in (("1280", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(size)
            page.goto(live_server.url + path)
            expect(page.locator("main")).to_be_visible()
            problems = []
            if (overflow := sideways_scroll(page)) > 0:
                problems.append(f"scrolls sideways by {overflow}px: {page.evaluate(WIDEST)}")
            problems += [
                f"chart {name} spills out of its box" for name in page.evaluate(SPILLING_CHARTS)
            ]
            text = page.locator("body").inner_text()
            problems += [f"shows {raw!r}" for raw in RAW_SYNTAX if raw in text]
            problems += serious_violations(page)
            page.screenshot(path=artifacts_dir / f"{name}-{size_name}.png", full_page=True)
            if problems:
                found[f"{name} at {size_name}"] = problems
    assert not found, "\n".join(f"{where}: {problems}" for where, problems in found.items())


def test_the_dial_button_is_in_the_first_screen_on_a_desktop(
    page: Page, live_server, world: World, browser_problems
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, "olivia")
    expect(page.get_by_role("button", name="Dial", exact=True)).to_be_in_viewport()
