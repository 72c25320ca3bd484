"""The dial form and Twilio agree at every constraint's edges.

Each constraint of every parameter (ranges, lengths, value lists, patterns, URLs) is tried
at and just past its edges. What the form accepts is sent, as the form builds it, through
the gateway to the sandbox (which holds Twilio's rules): Twilio must accept it too, or the
operator would see a dial queued and then refused (MachineDetectionTimeout=1000 was, with
21234). Where the form refuses a value Twilio would take, the schema must say why (a
recorded deviation): the form may be stricter than Twilio only on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from conferences.dialing.forms import DialForm
from conferences.gateway import client as gateway
from conferences.gateway.errors import GatewayError
from conferences.gateway.types import AccountCredentials
from conferences.models import RelayAllowedHost
from conferences.schema import ParameterSpec, load_participant_schema
from tests.dialform.helpers import data_with, sample_value
from tests.support.sandbox import running_sandbox
from twilio_sandbox import Sandbox

pytestmark = pytest.mark.django_db

# Twilio answers these for the state of the account or the conference, not for the value
# (the coached call is not in this conference): they say nothing about the constraint.
NOT_ABOUT_THE_VALUE = frozenset({16028})
# Checked by their own tests against Twilio's endpoint rules (tests/dialform/
# test_endpoints_and_phone_numbers.py): To, From and CallerId change meaning together.
OWN_TESTS = frozenset({"endpoint"})


@dataclass(frozen=True)
class Edge:
    spec: ParameterSpec
    value: Any
    why: str

    def __str__(self) -> str:
        shown = self.value if len(str(self.value)) < 40 else f"{str(self.value)[:12]}…"
        return f"{self.spec.name}={shown!r} ({self.why})"


def _edges(spec: ParameterSpec) -> Iterator[Edge]:
    if spec.is_integer and spec.min is not None and spec.max is not None:
        for number, why in (
            (spec.min - 1, "below min"),
            (spec.min, "min"),
            (spec.max, "max"),
            (spec.max + 1, "above max"),
        ):
            yield Edge(spec, str(number), why)
    elif spec.is_integer:
        # An integer the schema leaves open: Twilio may still have a range the form misses.
        for value in ("0", "1", "2", "1000", "100000"):
            yield Edge(spec, value, "no range in the schema")
    if spec.min_length or spec.max_length:
        filler = sample_value(spec)[:1] or "x"
        if spec.min_length and spec.min_length > 1:
            yield Edge(spec, filler * (spec.min_length - 1), "one short")
            yield Edge(spec, filler * spec.min_length, "min length")
        if spec.max_length and not spec.pattern:
            yield Edge(spec, filler * spec.max_length, "max length")
            yield Edge(spec, filler * (spec.max_length + 1), "one over")
    if spec.values and not spec.is_boolean:
        for value in spec.values:
            yield Edge(spec, [value] if spec.is_multi else value, "listed value")
        yield Edge(spec, ["no-such-value"] if spec.is_multi else "no-such-value", "unlisted")
    if spec.pattern:
        good = sample_value(spec)
        yield Edge(spec, good, "matches")
        yield Edge(spec, good[:-1] + "z", "breaks the pattern")
    if spec.format == "uri":
        yield Edge(spec, f"https://hooks.example.com/{spec.field_name}", "https URL")
        yield Edge(spec, "ftp://hooks.example.com/x", "not http(s)")


EDGES = [
    edge
    for spec in load_participant_schema()
    if spec.format not in OWN_TESTS and not spec.is_boolean
    for edge in _edges(spec)
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # Slow enough that no call plays out (and calls nobody back) while the test runs.
    with running_sandbox(speed=0.01, seed=11) as box:
        yield box


def _twilio_refusal(sandbox: Sandbox, params: dict[str, Any], room: str) -> str | None:
    creds = AccountCredentials(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        sandbox.url,
    )
    try:
        gateway.create_participant(creds, room, params, timeout=5)
    except GatewayError as error:
        if error.code in NOT_ABOUT_THE_VALUE:
            return None
        return f"{error.code}: {error}"
    return None


def _deviates(spec: ParameterSpec) -> bool:
    return any(
        d.constraint in {"min", "max", "min_length", "max_length", "pattern", "values"}
        for d in spec.deviations
    )


def test_every_edge_the_form_accepts_twilio_accepts_and_every_stricter_refusal_says_why(
    sandbox: Sandbox,
):
    RelayAllowedHost.objects.create(host="hooks.example.com")
    disagreements: list[str] = []
    accepted = refused = 0
    for number, edge in enumerate(EDGES):
        form = DialForm(data_with(edge.spec, edge.value))
        if form.is_valid():
            accepted += 1
            refusal = _twilio_refusal(sandbox, form.twilio_params(), f"edge-{number}")
            if refusal is not None:
                disagreements.append(f"the form accepts {edge}; Twilio refuses: {refusal}")
            continue
        refused += 1
        # What Twilio would say to the same value: the rest of the dial as the form builds
        # it, this one parameter as typed.
        rest = data_with(edge.spec, edge.value)
        del rest[edge.spec.field_name]
        base = DialForm(rest)
        assert base.is_valid(), (str(edge), base.errors)
        params = {**base.twilio_params(), edge.spec.name: edge.value}
        if _twilio_refusal(sandbox, params, f"edge-{number}") is None and not _deviates(edge.spec):
            disagreements.append(
                f"the form refuses {edge} ({form.errors.get(edge.spec.field_name)}), which "
                "Twilio takes, and the schema records no deviation saying why"
            )
    assert not disagreements, "\n".join(disagreements)
    # The walk really covered both sides of the edges.
    assert accepted > 60 and refused > 30, (accepted, refused)


def test_machine_detection_timeout_is_refused_in_the_form_outside_3_to_59():
    from_the_report = {"1000": False, "2": False, "3": True, "59": True, "60": False}
    spec = next(s for s in load_participant_schema() if s.name == "MachineDetectionTimeout")
    for value, valid in from_the_report.items():
        form = DialForm(data_with(spec, value))
        assert form.is_valid() is valid, (value, form.errors)
        if not valid:
            (error,) = form.errors[spec.field_name]
            assert ("3" if int(value) < 3 else "59") in error, error
