"""A dial made through the API is the dial the form makes from the same values (one source
of truth), and what each path costs is measured in the same run (written to the artifacts,
never asserted: speed targets live in benchmarks)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conferences.callbacks.addresses import CALLBACK_PARAMETERS
from conferences.models import DialRequest, User
from conferences.schema import parameters_by_name
from tests.api.helpers import CALLER_ID, ApiClient

pytestmark = pytest.mark.django_db

ROUNDS = 15
VALUES: dict[str, Any] = {
    "To": "+14155550100",
    "From": CALLER_ID,
    "Muted": True,
    "Timeout": 30,
    "EndConferenceOnExit": False,
    "Record": True,
}


def _form_data(label: str) -> dict[str, Any]:
    """The same values as the dial page's form posts them."""
    by_name = parameters_by_name()
    data: dict[str, Any] = {"conference": "timing", by_name["Label"].field_name: label}
    for name, value in VALUES.items():
        wire = ("true" if value else "false") if isinstance(value, bool) else value
        data[by_name[name].field_name] = wire if isinstance(wire, list) else str(wire)
    return data


def _comparable(dial: DialRequest) -> dict[str, Any]:
    """The stored Create Participant body without what differs by design: the label and
    the callback URLs carrying the dial's own id."""
    return {
        name: value
        for name, value in dial.params.items()
        if name != "Label" and name not in CALLBACK_PARAMETERS
    }


def test_the_api_and_the_form_store_the_same_dial_and_their_cost_is_measured(
    operator: User, operator_api: ApiClient, artifacts_dir: Path
) -> None:
    page = Client()
    page.force_login(operator)
    url = reverse("conferences:dial-submit")
    page.get(reverse("conferences:dial"))  # warm both paths once
    operator_api.get("/api/v1/dials")
    form_ms: list[float] = []
    api_ms: list[float] = []
    for round_number in range(ROUNDS):
        started = time.perf_counter()
        posted = page.post(url, _form_data(f"form-{round_number}"))
        form_ms.append((time.perf_counter() - started) * 1000)
        assert posted.status_code == 302, posted.content[:500]
        started = time.perf_counter()
        created = operator_api.post(
            "/api/v1/dials", {"conference": "timing", "Label": f"api-{round_number}", **VALUES}
        )
        api_ms.append((time.perf_counter() - started) * 1000)
        assert created.status_code == 201, created.content[:500]

    by_form = DialRequest.objects.get(label="form-0")
    by_api = DialRequest.objects.get(label="api-0")
    assert _comparable(by_api) == _comparable(by_form)
    assert by_api.conference_id == by_form.conference_id
    numbers = {
        "rounds": ROUNDS,
        "form_median_ms": round(statistics.median(form_ms), 1),
        "api_median_ms": round(statistics.median(api_ms), 1),
        "api_over_form": round(statistics.median(api_ms) / statistics.median(form_ms), 2),
    }
    (artifacts_dir / "create_cost.json").write_text(json.dumps(numbers, indent=2))
    print(f"dial create cost (in-process, same run): {numbers}")
