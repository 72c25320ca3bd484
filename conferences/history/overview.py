"""The overview's numbers: outcomes per day, failures, medians, and each operator's summary."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from conferences.core.words import twilio_error_words
from conferences.history.filters import (
    MAX_OVERVIEW_DAYS,
    HistoryFilters,
    Viewer,
    apply_filters,
    local_day_start,
    visible_dials,
)
from conferences.models import (
    FINAL_DIAL_STATUSES,
    DialRequest,
    DialStatus,
    User,
)

# --- Overview -------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's median: percentile_cont(0.5) over the expression."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


TIME_TO_ANSWER = ExpressionWrapper(F("answered_at") - F("created_at"), output_field=DurationField())

# The daily chart's outcomes, in stacking order (bottom first): final statuses, then "live".
OUTCOMES: tuple[tuple[str, str], ...] = (
    (DialStatus.COMPLETED, "Completed"),
    (DialStatus.BUSY, "Busy"),
    (DialStatus.NO_ANSWER, "No answer"),
    (DialStatus.CANCELED, "Canceled"),
    (DialStatus.FAILED, "Failed"),
    ("live", "Not finished"),
)


def outcome_of(status: str) -> str:
    return status if status in FINAL_DIAL_STATUSES else "live"


@dataclass(frozen=True)
class DayOutcomes:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class FailureCount:
    code: int | None
    words: str
    count: int


@dataclass(frozen=True)
class OperatorSummary:
    operator_id: int
    username: str
    dials: int
    finished: int
    answered: int
    joined: int
    median_time_to_answer: timedelta | None

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.finished if self.finished else None


@dataclass(frozen=True)
class Overview:
    first_day: date
    last_day: date
    days: list[DayOutcomes]
    dials: int
    finished: int
    answered: int
    joined: int
    median_time_to_answer: timedelta | None
    failures: list[FailureCount]
    operators: list[OperatorSummary]

    @property
    def answer_rate(self) -> float | None:
        """Answered among finished dials (live ones have not had their chance yet)."""
        return self.answered / self.finished if self.finished else None


def _median_time_to_answer(dials: QuerySet[DialRequest]) -> timedelta | None:
    answered = dials.filter(answered_at__isnull=False)
    if connection.vendor == "postgresql":
        value = answered.aggregate(median=Median(TIME_TO_ANSWER, output_field=DurationField()))
        return value["median"]
    # Elsewhere (the SQLite of `make run`): the middle one or two, still picked by the database.
    count = answered.count()
    if not count:
        return None
    middle = list(
        answered.annotate(tta=TIME_TO_ANSWER)
        .order_by("tta")
        .values_list("tta", flat=True)[(count - 1) // 2 : count // 2 + 1]
    )
    return sum(middle, timedelta()) / len(middle)


def _medians_time_to_answer(
    dials: QuerySet[DialRequest], *, operator_ids: Sequence[int]
) -> tuple[timedelta | None, dict[int, timedelta | None]]:
    """The median time to answer of all `dials`, and of each operator's.

    On PostgreSQL one pass computes both (GROUPING SETS: per operator, and the empty set for
    everyone); the ORM cannot say GROUPING SETS, so the filtered queryset's own SQL, with its
    parameters, is wrapped. Elsewhere, one query per median.
    """
    if connection.vendor != "postgresql":
        return _median_time_to_answer(dials), {
            operator_id: _median_time_to_answer(dials.filter(operator_id=operator_id))
            for operator_id in operator_ids
        }
    answered = (
        dials.filter(answered_at__isnull=False)
        .order_by()
        .annotate(tta=TIME_TO_ANSWER)
        .values("operator_id", "tta")
    )
    try:
        inner, params = answered.query.sql_with_params()
    except EmptyResultSet:  # a viewer who may see no dial at all (visible_dials: none())
        return None, {}
    overall: timedelta | None = None
    per_operator: dict[int, timedelta | None] = {}
    # `inner` is SQL Django compiled; every value in it is a placeholder bound from params.
    sql = (
        "SELECT operator_id, GROUPING(operator_id), "  # noqa: S608
        "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY tta) "
        f"FROM ({inner}) AS answered GROUP BY GROUPING SETS ((operator_id), ())"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for operator_id, everyone, median in cursor.fetchall():
            if everyone:
                overall = median
            else:
                per_operator[operator_id] = median
    return overall, per_operator


def history_overview(
    *,
    user: Viewer,
    filters: HistoryFilters,
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> Overview:
    """Calls per day by outcome, answer rate, median time to answer, failures by code and
    per operator, for the filters' period (default: the last 7 days). All counted by the
    database, grouped by calendar day in the viewer's time zone."""
    zone = zone or timezone.get_current_timezone()
    now = now or timezone.now()
    filters = filters.with_default_range()
    period = filters.period(zone, now)
    today = now.astimezone(zone).date()
    last_day = period.last_day or today
    first_day = period.first_day or last_day - timedelta(days=29)
    if (last_day - first_day).days >= MAX_OVERVIEW_DAYS:
        first_day = last_day - timedelta(days=MAX_OVERVIEW_DAYS - 1)
    dials = apply_filters(visible_dials(user), filters, user=user, zone=zone, now=now).filter(
        created_at__gte=local_day_start(first_day, zone),
        created_at__lt=local_day_start(last_day + timedelta(days=1), zone),
    )

    # One pass over the period's dials, grouped finely enough that every count of the page
    # (per day, totals, failures, per operator) is a sum of its groups: a week of a busy
    # centre is ~20,000 dials, and each separate count re-read them all from the heap.
    groups = (
        dials.annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day", "status", "operator_id", "error_code")
        .annotate(
            count=Count("pk"),
            answered=Count("pk", filter=Q(answered_at__isnull=False)),
            joined=Count("pk", filter=Q(joined_at__isnull=False)),
        )
    )
    per_day: dict[date, dict[str, int]] = {}
    totals = {"dials": 0, "finished": 0, "answered": 0, "joined": 0}
    per_code: dict[int | None, int] = {}
    per_operator: dict[int, dict[str, int]] = {}
    for group in groups:
        count, status = group["count"], group["status"]
        final = status in FINAL_DIAL_STATUSES
        added = {
            "dials": count,
            "finished": count if final else 0,
            "answered": group["answered"] if final else 0,
            "joined": group["joined"],
        }
        counts = per_day.setdefault(group["day"], {})
        outcome = outcome_of(status)
        counts[outcome] = counts.get(outcome, 0) + count
        person = per_operator.setdefault(group["operator_id"], dict.fromkeys(totals, 0))
        for name, value in added.items():
            totals[name] += value
            person[name] += value
        code = group["error_code"]
        if status == DialStatus.FAILED or code is not None:
            per_code[code] = per_code.get(code, 0) + count
    days = [DayOutcomes(day, per_day.get(day, {})) for day in _days(first_day, last_day)]
    # Most frequent first; equal counts by code, the unknown (None) last, as SQL orders them.
    failures = [
        FailureCount(code, twilio_error_words(code), count)
        for code, count in sorted(
            per_code.items(), key=lambda item: (-item[1], item[0] is None, item[0] or 0)
        )
    ]

    overall_median, medians = _medians_time_to_answer(dials, operator_ids=list(per_operator))
    # Names apart: joining users into the grouping widened it enough for PostgreSQL to plan
    # a parallel sort, slower than this lookup of a few primary keys.
    usernames = dict(User.objects.filter(pk__in=per_operator).values_list("pk", "username"))
    operators = [
        OperatorSummary(
            operator_id=operator_id,
            username=usernames[operator_id],
            dials=person["dials"],
            finished=person["finished"],
            answered=person["answered"],
            joined=person["joined"],
            median_time_to_answer=medians.get(operator_id),
        )
        for operator_id, person in sorted(
            per_operator.items(), key=lambda item: (-item[1]["dials"], usernames[item[0]])
        )
    ]
    return Overview(
        first_day=first_day,
        last_day=last_day,
        days=days,
        dials=totals["dials"],
        finished=totals["finished"],
        answered=totals["answered"],
        joined=totals["joined"],
        median_time_to_answer=overall_median,
        failures=failures,
        operators=operators,
    )


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
