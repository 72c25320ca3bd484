"""Cells that only look harmless are escaped like `=` (issue 18, finding 6): full-width
and small formula signs, a formula behind leading spaces, and a leading invisible
character (zero-width space, joiners, bidi marks, byte order mark)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from conferences.history.export import spreadsheet_text
from conferences.models import DialStatus
from tests.history.helpers import make_dial

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value",
    [
        '\uff1dHYPERLINK("http://evil.example")',  # full-width equals
        "\uff0b1+1",  # full-width plus
        "\uff0d1+1",  # full-width minus
        "\uff20SUM(A1)",  # full-width at
        "\ufe66cmd",  # small equals
        "\u200b=1+1",  # zero-width space, then a formula
        "\u200bhello",  # a zero-width space hides what the cell starts with
        "\u2060x",  # word joiner
        "\u202e=1+1",  # right-to-left override
        "\ufeff=1+1",  # byte order mark
        "  =1+1",  # spaces before the sign
        "\u3000\uff1d1",  # ideographic space, full-width equals
    ],
)
def test_look_alike_formulas_get_the_apostrophe(value):
    assert spreadsheet_text(value) == f"'{value}"


@pytest.mark.parametrize("value", ["plain", "Board call", "a=b", "", "日本語", "1 + 1"])
def test_ordinary_text_is_left_alone(value):
    assert spreadsheet_text(value) == value


def test_the_export_escapes_them_in_every_free_text_cell(client, supervisor, operator):
    make_dial(
        operator,
        conference_name='\uff1dHYPERLINK("http://evil.example","x")',
        label="\u200b=1+1",
        status=DialStatus.FAILED,
        failure_reason="\uff20SUM(1)",
    )
    client.force_login(supervisor)
    response = client.get(reverse("conferences:history-export"))
    body = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    (row,) = csv.DictReader(io.StringIO(body))
    assert row["conference"].startswith("'\uff1d")
    assert row["label"] == "'\u200b=1+1"
    assert row["failure_reason"] == "'\uff20SUM(1)"
