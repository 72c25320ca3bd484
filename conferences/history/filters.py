"""Which dials a viewer may see, and the history filters that narrow them.

Built for a million dials: every list query is a keyset walk over an index (never OFFSET,
never COUNT(*) of the whole history)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Q,
    QuerySet,
)

from conferences.accounts import masking, roles
from conferences.callbacks import meaning as callback_meaning
from conferences.core import inputs
from conferences.models import (
    Conference,
    DialRequest,
    DialStatus,
    User,
)

Viewer = User | AnonymousUser

PAGE_SIZE = 50
# How many rows the live endpoint accepts per poll: a page, with room to spare.
MAX_LIVE_ROWS = 200
MAX_OVERVIEW_DAYS = 366

# Quick ranges: how many calendar days, in the viewer's time zone, ending today.
QUICK_RANGES: dict[str, tuple[int, str]] = {
    "today": (1, "Today"),
    "7d": (7, "Last 7 days"),
    "30d": (30, "Last 30 days"),
}
SORTS: dict[str, str] = {
    "-time": "Newest first",
    "time": "Oldest first",
    "-duration": "Longest in conference first",
    "duration": "Shortest in conference first",
}
DEFAULT_SORT = "-time"
NO_ANSWERED_BY = "none"
ANY_ERROR = "any"
MIN_NUMBER_DIGITS = 3


# --- Who sees what ----------------------------------------------------------------------


def visible_dials(user: Viewer) -> QuerySet[DialRequest]:
    """The dials this user may look at: supervisors every dial, operators their own.

    Every history read starts here, so a template can never show more than this.
    """
    if not user.is_authenticated:
        return DialRequest.objects.none()
    if roles.user_can(user, "view_all_calls"):
        return DialRequest.objects.all()
    if roles.user_can(user, "view_own_calls"):
        return DialRequest.objects.filter(operator_id=user.pk)
    return DialRequest.objects.none()


def can_listen_to_recordings(user: Viewer) -> bool:
    """Listening follows visibility: the recordings of the dials the user may see."""
    return roles.user_can(user, "listen_recordings")


# --- Filters ------------------------------------------------------------------------------


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _parse_int(value: str) -> int | None:
    return inputs.whole_number(value.strip(), max_digits=9)


def local_day_start(day: date, zone: tzinfo) -> datetime:
    """Midnight at the start of `day` in `zone`, in UTC (DST-safe: a day may last 23 or 25
    hours, and a midnight that does not exist resolves to the moment the day began)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of creation times; None: unbounded."""

    start: datetime | None
    end: datetime | None
    first_day: date | None  # the local calendar days it covers, for the overview
    last_day: date | None


@dataclass(frozen=True)
class HistoryFilters:
    """What the viewer asked to see, read from the URL (so links share it)."""

    conference: str = ""
    conference_id: int | None = None
    operator_id: int | None = None
    statuses: tuple[str, ...] = ()
    answered_by: str = ""  # an AnsweredBy value, or "none" for never detected
    error_code: str = ""  # digits, or "any"
    quick_range: str = ""  # today | 7d | 30d
    date_from: date | None = None
    date_to: date | None = None
    number: str = ""
    label: str = ""
    sort: str = DEFAULT_SORT
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> HistoryFilters:
        """Read filters from a QueryDict (or a dict); unusable values are dropped with a note."""

        def whole(name: str) -> str:
            value = query.get(name, "")
            return str(value).strip() if value is not None else ""

        def one(name: str) -> str:
            return whole(name)[:200]

        def many(name: str) -> list[str]:
            getlist = getattr(query, "getlist", None)
            values = getlist(name) if getlist else query.get(name, [])
            if isinstance(values, str):
                values = [values]
            return [str(value) for value in values]

        problems: list[str] = []

        def text_for(name: str, column: Any, what: str) -> str:
            """A filter compared with `column`: dropped, with the reason, when the column
            could never hold it (NUL, longer than the column)."""
            value = whole(name)
            found = inputs.text_problems(value, column, what=what)
            problems.extend(found)
            return "" if found else value

        def day(name: str) -> date | None:
            value, problem = inputs.parse_day(one(name))
            if problem and problem not in problems:
                problems.append(problem)
            return value

        statuses = tuple(
            dict.fromkeys(value for value in many("status") if value in DialStatus.values)
        )
        answered_by = one("answered_by")
        if answered_by and answered_by not in {
            *callback_meaning.ANSWERED_BY_VALUES,
            NO_ANSWERED_BY,
        }:
            problems.append(f"Unknown AnsweredBy value {answered_by!r} ignored.")
            answered_by = ""
        error_code = one("error_code").lower()
        if error_code and error_code != ANY_ERROR and _parse_int(error_code) is None:
            problems.append("The error code must be a number, e.g. 21211.")
            error_code = ""
        quick_range = one("range")
        if quick_range not in QUICK_RANGES:
            quick_range = ""
        date_from, date_to = day("from"), day("to")
        if date_from and date_to and date_to < date_from:
            date_from, date_to = date_to, date_from
        number = text_for("number", DialRequest._meta.get_field("to_number"), "Number")
        if number and len(_digits(number)) < MIN_NUMBER_DIGITS and not _is_address(number):
            problems.append(f"Type at least {MIN_NUMBER_DIGITS} digits to search numbers.")
            number = ""
        sort = one("sort") or DEFAULT_SORT
        if sort not in SORTS:
            sort = DEFAULT_SORT
        return cls(
            conference=text_for(
                "conference", Conference._meta.get_field("friendly_name"), "Conference"
            ),
            conference_id=_parse_int(one("conference_id")),
            operator_id=_parse_int(one("operator")),
            statuses=statuses,
            answered_by=answered_by,
            error_code=error_code,
            quick_range=quick_range,
            date_from=date_from if not quick_range else None,
            date_to=date_to if not quick_range else None,
            number=number,
            label=text_for("label", DialRequest._meta.get_field("label"), "Label"),
            sort=sort,
            problems=tuple(problems),
        )

    def query_items(self) -> list[tuple[str, str]]:
        """The filters as URL parameters, in a stable order (no cursor)."""
        items: list[tuple[str, str]] = []
        if self.conference:
            items.append(("conference", self.conference))
        if self.conference_id is not None:
            items.append(("conference_id", str(self.conference_id)))
        if self.operator_id is not None:
            items.append(("operator", str(self.operator_id)))
        items.extend(("status", status) for status in self.statuses)
        for name, value in (
            ("answered_by", self.answered_by),
            ("error_code", self.error_code),
            ("range", self.quick_range),
            ("from", self.date_from.isoformat() if self.date_from else ""),
            ("to", self.date_to.isoformat() if self.date_to else ""),
            ("number", self.number),
            ("label", self.label),
        ):
            if value:
                items.append((name, value))
        if self.sort != DEFAULT_SORT:
            items.append(("sort", self.sort))
        return items

    def query_string(self, **extra: str) -> str:
        """`?…` for a link to these filters, with `extra` (a cursor, another sort) on top."""
        items = [(name, value) for name, value in self.query_items() if name not in extra]
        items.extend((name, value) for name, value in extra.items() if value)
        return f"?{urlencode(items)}" if items else "?"

    def with_default_range(self, quick_range: str = "7d") -> HistoryFilters:
        """These filters, limited to `quick_range` when they name no period."""
        if self.quick_range or self.date_from or self.date_to:
            return self
        return dataclasses.replace(self, quick_range=quick_range)

    @property
    def is_filtered(self) -> bool:
        return any(name != "sort" for name, _value in self.query_items())

    def period(self, zone: tzinfo, now: datetime) -> Period:
        """The creation-time interval the date filters mean, in the viewer's time zone."""
        if self.quick_range:
            days = QUICK_RANGES[self.quick_range][0]
            today = now.astimezone(zone).date()
            first = today - timedelta(days=days - 1)
            return Period(local_day_start(first, zone), None, first, today)
        start = local_day_start(self.date_from, zone) if self.date_from else None
        end = local_day_start(self.date_to + timedelta(days=1), zone) if self.date_to else None
        return Period(start, end, self.date_from, self.date_to)


def _is_address(value: str) -> bool:
    return value.startswith(("sip:", "client:"))


def apply_filters(
    dials: QuerySet[DialRequest],
    filters: HistoryFilters,
    *,
    user: Viewer,
    zone: tzinfo,
    now: datetime,
) -> QuerySet[DialRequest]:
    """Narrow `dials` (already scoped to the viewer) to what the filters ask for."""
    if filters.conference:
        # Any part of the name, any case ("board" finds "Board call"): matched on the
        # conferences table, small beside the dials, so the dials' own indexes still serve.
        named = Conference.objects.filter(friendly_name__icontains=filters.conference)
        dials = dials.filter(conference__in=named.values("pk"))
    if filters.conference_id is not None:
        dials = dials.filter(conference_id=filters.conference_id)
    if filters.operator_id is not None:
        dials = dials.filter(operator_id=filters.operator_id)
    if filters.statuses:
        dials = dials.filter(status__in=filters.statuses)
    if filters.answered_by == NO_ANSWERED_BY:
        dials = dials.filter(answered_by="")
    elif filters.answered_by:
        dials = dials.filter(answered_by=filters.answered_by)
    if filters.error_code == ANY_ERROR:
        dials = dials.filter(error_code__isnull=False)
    elif filters.error_code:
        dials = dials.filter(error_code=int(filters.error_code))
    period = filters.period(zone, now)
    if period.start is not None:
        dials = dials.filter(created_at__gte=period.start)
    if period.end is not None:
        dials = dials.filter(created_at__lt=period.end)
    if filters.number:
        # Searching numbers the viewer only sees masked would reveal them digit by digit.
        dials = dials.filter(masking.dials_with_visible_numbers(user))
        needle = filters.number if _is_address(filters.number) else _digits(filters.number)
        dials = dials.filter(Q(to_number__contains=needle) | Q(from_number__contains=needle))
    if filters.label:
        dials = dials.filter(label__icontains=filters.label)
    return dials


# --- Choices for the filter form -------------------------------------------------------------


def operator_choices(user: Viewer) -> list[tuple[int, str]]:
    """People whose dials the viewer may filter by (empty: the viewer sees only their own)."""
    if not roles.user_can(user, "view_all_calls"):
        return []
    people = (
        User.objects.filter(groups__name__in=roles.ROLES)
        .distinct()
        .order_by("username")
        .values_list("pk", "username")
    )
    return list(people[:500])


def recent_conference_names(user: Viewer, limit: int = 50) -> list[str]:
    """Names of the conferences of the viewer's latest dials, for the filter's suggestions."""
    names = (
        visible_dials(user)
        .order_by("-created_at", "-id")
        .values_list("conference__friendly_name", flat=True)[: limit * 10]
    )
    return list(dict.fromkeys(names))[:limit]
