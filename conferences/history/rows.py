"""History rows: the list's columns, one row per dial with its conference and operator in
one query, and the live updates of rows already on screen."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from conferences.accounts import masking
from conferences.callbacks import durations
from conferences.core import inputs
from conferences.core.words import LEAVE_REASON_WORDS, format_duration, twilio_error_words
from conferences.history.filters import (
    MAX_LIVE_ROWS,
    PAGE_SIZE,
    HistoryFilters,
    Viewer,
    apply_filters,
    visible_dials,
)
from conferences.history.pagination import Cursor, _beyond, _ordering, sort_key
from conferences.models import (
    FINAL_DIAL_STATUSES,
    DialAttempt,
    DialRequest,
)

# Columns the list never shows; left in the database until the detail page asks.
HEAVY_COLUMNS = ("params", "response", "relay_targets", "sip_auth_password_encrypted")

# The dial columns a list row reads (HistoryRow, its version digest, the page cursor). A page
# loads only these: converting ~40 columns per row, most of them timestamps, cost the page
# more than its query. The export, which prints most columns, loads all but HEAVY_COLUMNS.
LIST_COLUMNS = (
    "id",
    "conference",
    "operator",
    "created_at",
    "status",
    "to_number",
    "from_number",
    "numbers_hidden_from_operator",
    "label",
    "answered_by",
    "answered_at",
    "joined_at",
    "left_at",
    "end_reason",
    "error_code",
    "error_message",
    "updated_at",
)

# Time in the conference, with "never joined or still there" as -1 s: the sort key has no
# NULLs, so one expression index serves both directions and keyset conditions stay simple.
NEVER_IN_CONFERENCE = timedelta(seconds=-1)


class NeverInConference(Value):
    """-1 s, written on PostgreSQL as a literal: an expression index matches a constant, not
    a bound parameter (see the index list in the history issue's report)."""

    def __init__(self) -> None:
        super().__init__(NEVER_IN_CONFERENCE, output_field=DurationField())

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return "'-00:00:01'::interval", []


TIME_IN_CONFERENCE_KEY = Coalesce(
    ExpressionWrapper(F("left_at") - F("joined_at"), output_field=DurationField()),
    NeverInConference(),
    output_field=DurationField(),
)


@dataclass(frozen=True)
class HistoryRow:
    """One dial as the list shows it, with the numbers as this viewer may see them."""

    dial: DialRequest
    conference_name: str
    conference_sid: str
    operator_name: str
    to_display: str
    from_display: str
    time_to_answer: timedelta | None
    time_in_conference: timedelta | None
    attempt_count: int

    @property
    def is_live(self) -> bool:
        return self.dial.status not in FINAL_DIAL_STATUSES

    @property
    def version(self) -> int:
        """Changes whenever what the row shows does. A digest of the shown facts, not
        updated_at: some pipeline writes (claiming, failing) do not touch updated_at."""
        dial = self.dial
        shown = (
            dial.status,
            dial.updated_at,
            dial.answered_by,
            dial.answered_at,
            dial.joined_at,
            dial.left_at,
            dial.end_reason,
            dial.error_code,
            dial.error_message,
            self.attempt_count,
        )
        digest = hashlib.blake2b(repr(shown).encode(), digest_size=7).digest()
        return int.from_bytes(digest, "big")

    @property
    def time_to_answer_text(self) -> str:
        return format_duration(self.time_to_answer)

    @property
    def time_in_conference_text(self) -> str:
        return format_duration(self.time_in_conference)

    @property
    def error_words(self) -> str:
        return twilio_error_words(self.dial.error_code, self.dial.error_message)

    @property
    def end_reason_words(self) -> str:
        reason = self.dial.end_reason
        return LEAVE_REASON_WORDS.get(reason, reason.replace("_", " "))


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    next_cursor: str
    previous_cursor: str
    filters: HistoryFilters

    @property
    def live_rows(self) -> list[HistoryRow]:
        return [row for row in self.rows if row.is_live]


def _attempt_count() -> Subquery:
    attempts = (
        DialAttempt.objects.filter(dial=OuterRef("pk"))
        .order_by()
        .values("dial")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Subquery(attempts, output_field=IntegerField())


def _row_annotations() -> dict[str, Any]:
    """What history_row reads besides the dial's own columns. The conference's and
    operator's names come as plain columns of the same query: two more model instances per
    row (select_related) would cost more than everything else the row needs."""
    return {
        "conference_name": F("conference__friendly_name"),
        "conference_sid": F("conference__sid"),
        "operator_name": F("operator__username"),
        **durations.DURATION_ANNOTATIONS,
        "attempt_count": Coalesce(_attempt_count(), 0),
    }


def history_queryset(
    user: Viewer,
    filters: HistoryFilters,
    *,
    zone: tzinfo,
    now: datetime,
    columns: Sequence[str] = (),
) -> QuerySet[DialRequest]:
    """The viewer's dials matching the filters, with what a row needs, in page order.

    `columns`: load only these dial columns (a page: LIST_COLUMNS); by default every one
    but HEAVY_COLUMNS.
    """
    dials = apply_filters(visible_dials(user), filters, user=user, zone=zone, now=now)
    dials = dials.only(*columns) if columns else dials.defer(*HEAVY_COLUMNS)
    return dials.annotate(
        **_row_annotations(), conference_time_key=TIME_IN_CONFERENCE_KEY
    ).order_by(*_ordering(sort_key(filters.sort)))


def history_row(user: Viewer, dial: DialRequest, *, full_numbers: bool | None = None) -> HistoryRow:
    """Wrap an annotated dial (from history_queryset) for display to this viewer.

    `full_numbers`: whether the viewer sees every number unmasked, when the caller already
    asked. A permission check walks the auth backends (~40 µs); a page of rows, or an export
    of a million, asks once instead of twice per row.
    """
    if full_numbers is None:
        full_numbers = masking.can_see_full_numbers(user)
    if full_numbers:
        to_display, from_display = dial.to_number, dial.from_number
    else:
        to_display = masking.visible_dial_number(user, dial, dial.to_number)
        from_display = masking.visible_dial_number(user, dial, dial.from_number)
    return HistoryRow(
        dial=dial,
        # Annotations of history_queryset: a dial without them is a programming error.
        conference_name=dial.conference_name,  # type: ignore[attr-defined]
        conference_sid=dial.conference_sid or "",  # type: ignore[attr-defined]
        operator_name=dial.operator_name,  # type: ignore[attr-defined]
        to_display=to_display,
        from_display=from_display,
        time_to_answer=getattr(dial, "time_to_answer", None),
        time_in_conference=getattr(dial, "time_in_conference", None),
        attempt_count=int(getattr(dial, "attempt_count", 0) or 0),
    )


# Beyond this many, the history says "more than 10,000" instead of counting on.
COUNT_LIMIT = 10_000


def matching_count(
    *,
    user: Viewer,
    filters: HistoryFilters,
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> tuple[int, bool]:
    """How many dials the filters find, counted up to COUNT_LIMIT; True when there are
    more (counting a million rows on every page view would cost more than the page)."""
    zone = zone or timezone.get_current_timezone()
    now = now or timezone.now()
    dials = apply_filters(visible_dials(user), filters, user=user, zone=zone, now=now)
    found = dials.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return min(found, COUNT_LIMIT), found > COUNT_LIMIT


def dial_history(
    *,
    user: Viewer,
    filters: HistoryFilters,
    after: str = "",
    before: str = "",
    page_size: int = PAGE_SIZE,
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> HistoryPage:
    """One page of the viewer's history, after (or before) a cursor from a previous page.

    Keyset paging: a page is "the next N rows after this (sort key, id)", so rows that
    arrive meanwhile never shift later pages, and page 10,000 costs what page 1 costs.
    """
    zone = zone or timezone.get_current_timezone()
    now = now or timezone.now()
    key = sort_key(filters.sort)
    dials = history_queryset(user, filters, zone=zone, now=now, columns=LIST_COLUMNS)
    after_cursor = Cursor.decode(after, filters.sort)
    before_cursor = Cursor.decode(before, filters.sort) if after_cursor is None else None

    if before_cursor is not None:
        found = list(
            dials.filter(
                _beyond(key, before_cursor.value, before_cursor.dial_id, backwards=True)
            ).order_by(*_ordering(key, reverse=True))[: page_size + 1]
        )
        more_before = len(found) > page_size
        dials_on_page = list(reversed(found[:page_size]))
        more_after = True
    else:
        if after_cursor is not None:
            dials = dials.filter(_beyond(key, after_cursor.value, after_cursor.dial_id))
        found = list(dials[: page_size + 1])
        more_after = len(found) > page_size
        dials_on_page = found[:page_size]
        more_before = after_cursor is not None

    full_numbers = masking.can_see_full_numbers(user)
    rows = [history_row(user, dial, full_numbers=full_numbers) for dial in dials_on_page]
    next_cursor = Cursor.of(dials_on_page[-1], filters.sort).encode() if more_after and rows else ""
    previous_cursor = (
        Cursor.of(dials_on_page[0], filters.sort).encode() if more_before and rows else ""
    )
    return HistoryPage(rows, next_cursor, previous_cursor, filters)


# --- Live rows --------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownRow:
    """What the browser last saw of a row: its version and status."""

    dial_id: int
    version: int
    status: str

    def encode(self) -> str:
        return f"{self.dial_id}:{self.version}:{self.status}"

    @classmethod
    def decode(cls, value: str) -> KnownRow | None:
        parts = value.split(":")
        if len(parts) != 3:
            return None
        dial_id, version = inputs.whole_number(parts[0]), inputs.whole_number(parts[1])
        if dial_id is None or version is None:
            return None
        return cls(dial_id, version, parts[2][:16])


@dataclass(frozen=True)
class StatusChange:
    row: HistoryRow
    old_status: str

    @property
    def announcement(self) -> str:
        dial = self.row.dial
        return (
            f"Call to {self.row.to_display} in {self.row.conference_name}: "
            f"{dial.get_status_display()}."
        )


@dataclass(frozen=True)
class LiveUpdate:
    changed: list[HistoryRow]  # rows whose version moved: swap them in
    still_live: list[KnownRow]  # what to ask about next time
    status_changes: list[StatusChange]  # for the screen-reader announcement


def live_update(user: Viewer, known: Sequence[KnownRow]) -> LiveUpdate:
    """The rows the browser shows as live that changed since it last looked (one query)."""
    known_by_id = {row.dial_id: row for row in known[:MAX_LIVE_ROWS]}
    if not known_by_id:
        return LiveUpdate([], [], [])
    dials = (
        visible_dials(user)
        .filter(pk__in=known_by_id)
        .only(*LIST_COLUMNS)
        .annotate(**_row_annotations())
        .order_by("pk")
    )
    changed: list[HistoryRow] = []
    still_live: list[KnownRow] = []
    status_changes: list[StatusChange] = []
    full_numbers = masking.can_see_full_numbers(user)
    for dial in dials:
        row = history_row(user, dial, full_numbers=full_numbers)
        seen = known_by_id[dial.pk]
        if row.version != seen.version:
            changed.append(row)
            if dial.status != seen.status:
                status_changes.append(StatusChange(row, seen.status))
        if row.is_live:
            still_live.append(KnownRow(dial.pk, row.version, dial.status))
    return LiveUpdate(changed, still_live, status_changes)
