"""Each named filter mix of the history list can be answered from an index (issue 10).

With sequential scans priced out (`enable_seqscan = off`), PostgreSQL must still find a
plan that reads the dial table through one of the indexes meant for that mix; if an index
were missing it would fall back to a Seq Scan or walk an unrelated index. The benchmark
(benchmarks/history.py) is the proof that the plans stay fast at a million dials.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest
from django.db import connection
from django.utils import timezone

from conferences.history import filters as history_filters
from conferences.history import rows as history_rows
from conferences.history import seeding
from conferences.models import User
from tests.support.users import make_user

# The indexes a mix may use on the dial table (any one of them suffices).
EXPECTED_INDEXES: dict[str, set[str]] = {
    "default view": {"conferences_created_ab5770_idx"},
    "one conference": {
        "dial_conference_time",
        "unique_label_per_conference",
        "conferences_dialrequest_conference_id_64fde504",  # the foreign key's own index
    },
    "one operator + status": {"dial_operator_status_time", "conferences_operato_3627d0_idx"},
    "number search": {"dial_to_number_trgm", "dial_from_number_trgm"},
    "date range + error code": {"dial_error_time"},
}

# Committed rows and a VACUUM: GIN indexes filled inside one open transaction keep their
# entries in a pending list the planner prices as a full read, unlike production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded_supervisor() -> User:
    seeding.seed_history(6000, operators=5, days=120)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE conferences_dialrequest")
    return make_user("sam", "supervisor", is_staff=True)


@pytest.fixture
def sequential_scans_off() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET enable_seqscan")


def test_every_named_filter_mix_has_expected_indexes() -> None:
    assert set(EXPECTED_INDEXES) == {
        "default view",
        "one conference",
        "one operator + status",
        "number search",
        "date range + error code",
    }


@pytest.mark.parametrize("mix", list(EXPECTED_INDEXES))
def test_history_list_reads_dials_through_an_index_for(
    mix: str, seeded_supervisor: User, sequential_scans_off: None
) -> None:
    now = timezone.now()
    filters = history_filters.HistoryFilters.from_query(seeding.filter_mixes(now)[mix])
    assert not filters.problems
    page_query = history_rows.history_queryset(seeded_supervisor, filters, zone=UTC, now=now)[
        : history_filters.PAGE_SIZE + 1
    ]
    assert page_query.exists(), f"the {mix!r} mix selects no seeded dial"

    plan = page_query.explain()

    assert "Seq Scan on conferences_dialrequest" not in plan, plan
    used = {name for name in EXPECTED_INDEXES[mix] if f" {name} " in f"{plan} ".replace("\n", " ")}
    assert used, f"{mix!r} uses none of {sorted(EXPECTED_INDEXES[mix])}:\n{plan}"
