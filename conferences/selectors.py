"""Reads for the history pages: which dials a viewer may see, filtered, sorted and paged by
keyset; one dial's whole story; the overview's numbers. Nothing here writes.

Built for a million dials: every list query is a keyset walk over an index (never OFFSET,
never COUNT(*) of the whole history), rows come with their conference and operator in one
query, and the heavy JSON columns stay in the database until the detail page asks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from conferences import callbacks, masking, roles
from conferences.models import (
    DIAL_STATUS_RANK,
    FINAL_DIAL_STATUSES,
    AuditEntry,
    CallbackEvent,
    CallbackKind,
    DialAttempt,
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

# --- Words for Twilio's codes -----------------------------------------------------------

# Twilio error codes this product meets (see /work/shared/TWILIO_NOTES.md); Twilio's own
# message, when it sent one, is shown instead.
TWILIO_ERROR_WORDS: dict[int, str] = {
    13224: "Dial: invalid phone number",
    13225: "Dial: forbidden phone number",
    13227: "Dial: no international permission for this number",
    16003: "The conference does not exist",
    16020: "The conference is full",
    16022: "The conference has already ended",
    16024: "Invalid participant label",
    16026: "The participant label is already in use",
    16028: "Coaching needs a connected call to coach",
    16030: "The participant could not be added",
    20003: "Twilio refused the account's credentials",
    20404: "Not found at Twilio",
    20429: "Too many requests to Twilio at once",
    21201: "No 'To' number",
    21205: "Invalid callback URL",
    21210: "The caller ID (From) is not verified",
    21211: "Invalid 'To' phone number",
    21212: "Invalid 'From' phone number",
    21213: "'From' phone number is required",
    21214: "The 'To' number cannot be reached",
    21215: "Calls to this country or region are not enabled (geo permissions)",
    21216: "The number is blocked",
    21217: "The phone number is not valid",
    21220: "The call was in a state that does not allow this",
    21234: "Invalid machine detection value",
    22005: "Twilio's call queue for the account is full",
}

SIP_RESPONSE_WORDS: dict[int, str] = {
    200: "OK",
    403: "Forbidden",
    404: "Number not found",
    408: "Request timeout",
    480: "Temporarily unavailable",
    484: "Address incomplete",
    486: "Busy here",
    487: "Request terminated (stopped ringing)",
    488: "Not acceptable here",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
    600: "Busy everywhere",
    603: "Declined",
}

LEAVE_REASON_WORDS: dict[str, str] = {
    "participant_hung_up": "the caller hung up",
    "conference_ended_via_api": "the conference was ended from the app or the API",
    "moderator_ended_conference": "a moderator left and the conference ended",
    "participant_updated_via_api": "the participant was removed from the app or the API",
    "participant_add_failed": "the call never connected, so the participant was never added",
    DialStatus.BUSY: "the line was busy",
    DialStatus.NO_ANSWER: "nobody answered",
    DialStatus.CANCELED: "the call was canceled before it was answered",
    DialStatus.FAILED: "the call failed",
}

CONFERENCE_END_WORDS: dict[str, str] = {
    "conference-ended-via-api": "ended from the app or the API",
    "last-participant-kicked": "the last participant was removed",
    "last-participant-left": "the last participant left",
    "participant-with-end-conference-on-exit-kicked": (
        "a participant who ends the conference on exit was removed"
    ),
    "participant-with-end-conference-on-exit-left": (
        "a participant who ends the conference on exit left"
    ),
}

ANSWERED_BY_WORDS: dict[str, str] = {
    "human": "a person",
    "machine_start": "an answering machine (detected at its greeting)",
    "machine_end_beep": "an answering machine (after its beep)",
    "machine_end_silence": "an answering machine (after silence)",
    "machine_end_other": "an answering machine",
    "fax": "a fax machine",
    "unknown": "someone machine detection could not identify",
}

# DialAttempt.decided_by and DialRequest.placed_by_check: which exactly-once check decided.
DECIDED_BY_WORDS: dict[str, str] = {
    "created": "Twilio created the participant (201)",
    "callback": "a callback for this dial had already arrived, so the call existed",
    "participant-label": "the conference already had a participant with this dial's label",
    "calls-list": "Twilio's Calls list had a call to this number since the first attempt",
    "checks-found-nothing": "all three checks found no call, so it was created (again)",
    "check-failed": "the checks could not reach Twilio; tried again later",
}


def twilio_error_words(code: int | None, message: str = "") -> str:
    """Twilio's words for an error: its own message, else what this product knows."""
    if message:
        return message
    if code is None:
        return ""
    return TWILIO_ERROR_WORDS.get(code, "see Twilio's error reference")


def sip_words(code: int | None) -> str:
    if code is None:
        return ""
    words = SIP_RESPONSE_WORDS.get(code)
    return f"SIP {code} {words}" if words else f"SIP {code}"


# Twilio's Timestamp has whole seconds, our request times have microseconds: an answer in
# the same second as the request can look up to a second early.
CLOCK_GRAIN = timedelta(seconds=1)


def without_clock_grain(value: timedelta | None) -> timedelta | None:
    """A duration with the sub-second skew of whole-second timestamps taken out (never < 0)."""
    if value is None or value <= -CLOCK_GRAIN:
        return None
    return max(value, timedelta(0))


def format_duration(value: timedelta | None) -> str:
    """`1h 02m 05s`, `2m 05s`, `4.2 s` (to answer, a fraction matters), `` for none."""
    value = without_clock_grain(value)
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs} s"


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


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_int(value: str) -> int | None:
    value = value.strip()
    if not value.isdigit() or len(value) > 9:
        return None
    return int(value)


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

        def one(name: str) -> str:
            value = query.get(name, "")
            return str(value).strip()[:200] if value is not None else ""

        def many(name: str) -> list[str]:
            getlist = getattr(query, "getlist", None)
            values = getlist(name) if getlist else query.get(name, [])
            if isinstance(values, str):
                values = [values]
            return [str(value) for value in values]

        problems: list[str] = []
        statuses = tuple(
            dict.fromkeys(value for value in many("status") if value in DialStatus.values)
        )
        answered_by = one("answered_by")
        if answered_by and answered_by not in {*callbacks.ANSWERED_BY_VALUES, NO_ANSWERED_BY}:
            problems.append(f"Unknown AnsweredBy value {answered_by!r} ignored.")
            answered_by = ""
        error_code = one("error_code").lower()
        if error_code and error_code != ANY_ERROR and _parse_int(error_code) is None:
            problems.append("The error code must be a number, e.g. 21211.")
            error_code = ""
        quick_range = one("range")
        if quick_range not in QUICK_RANGES:
            quick_range = ""
        date_from, date_to = _parse_date(one("from")), _parse_date(one("to"))
        if (one("from") and date_from is None) or (one("to") and date_to is None):
            problems.append("Dates must look like 2025-01-31.")
        if date_from and date_to and date_to < date_from:
            date_from, date_to = date_to, date_from
        number = one("number")
        if number and len(_digits(number)) < MIN_NUMBER_DIGITS and not _is_address(number):
            problems.append(f"Type at least {MIN_NUMBER_DIGITS} digits to search numbers.")
            number = ""
        sort = one("sort") or DEFAULT_SORT
        if sort not in SORTS:
            sort = DEFAULT_SORT
        return cls(
            conference=one("conference"),
            conference_id=_parse_int(one("conference_id")),
            operator_id=_parse_int(one("operator")),
            statuses=statuses,
            answered_by=answered_by,
            error_code=error_code,
            quick_range=quick_range,
            date_from=date_from if not quick_range else None,
            date_to=date_to if not quick_range else None,
            number=number,
            label=one("label"),
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
        dials = dials.filter(conference__friendly_name=filters.conference)
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
        if not roles.user_can(user, "view_full_numbers"):
            dials = dials.filter(operator_id=user.pk)
        needle = filters.number if _is_address(filters.number) else _digits(filters.number)
        dials = dials.filter(Q(to_number__contains=needle) | Q(from_number__contains=needle))
    if filters.label:
        dials = dials.filter(label__icontains=filters.label)
    return dials


# --- The list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    name: str  # the annotation or field the keyset walks
    descending: bool


def sort_key(sort: str) -> SortKey:
    name = "created_at" if sort.endswith("time") else "conference_time_key"
    return SortKey(name, sort.startswith("-"))


def _ordering(key: SortKey, *, reverse: bool = False) -> list[Any]:
    descending = key.descending != reverse
    if descending:
        return [F(key.name).desc(), F("id").desc()]
    return [F(key.name).asc(), F("id").asc()]


def _beyond(key: SortKey, value: Any, dial_id: int, *, backwards: bool = False) -> Q:
    """Rows after (key, id) in the page order, or before it when `backwards`.

    Written as `key <= v AND (key < v OR id < i)`, not as a plain OR, so the database can
    start the index scan at the cursor instead of reading every row before it.
    """
    descending = key.descending != backwards
    edge, strict, id_strict = ("lte", "lt", "id__lt") if descending else ("gte", "gt", "id__gt")
    return Q(**{f"{key.name}__{edge}": value}) & (
        Q(**{f"{key.name}__{strict}": value}) | Q(**{id_strict: dial_id})
    )


_CURSOR_SALT = "conferences.history.cursor"


@dataclass(frozen=True)
class Cursor:
    sort: str
    value: datetime | timedelta
    dial_id: int

    def encode(self) -> str:
        if isinstance(self.value, datetime):
            raw: str | int = self.value.isoformat()
        else:
            raw = self.value // timedelta(microseconds=1)
        return signing.dumps([self.sort, raw, self.dial_id], salt=_CURSOR_SALT, compress=True)

    @classmethod
    def decode(cls, token: str, sort: str) -> Cursor | None:
        """The cursor in a link, if it is ours, untampered and for this sort."""
        if not token:
            return None
        try:
            cursor_sort, raw, dial_id = signing.loads(token, salt=_CURSOR_SALT)
            if cursor_sort != sort or not isinstance(dial_id, int):
                return None
            value: datetime | timedelta
            if sort.endswith("time"):
                moment = datetime.fromisoformat(str(raw))
                if moment.tzinfo is None:
                    return None
                value = moment
            else:
                value = timedelta(microseconds=int(raw))
        except (signing.BadSignature, ValueError, TypeError, OverflowError):
            return None
        return cls(sort, value, dial_id)

    @classmethod
    def of(cls, dial: DialRequest, sort: str) -> Cursor:
        key = sort_key(sort)
        return cls(sort, getattr(dial, key.name), dial.pk)


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
        **callbacks.DURATION_ANNOTATIONS,
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
    placed_by = dial.operator_id
    if full_numbers:
        to_display, from_display = dial.to_number, dial.from_number
    else:
        to_display = masking.visible_number(user, dial.to_number, placed_by_id=placed_by)
        from_display = masking.visible_number(user, dial.from_number, placed_by_id=placed_by)
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
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        return cls(int(parts[0]), int(parts[1]), parts[2][:16])


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


# --- One dial's story ---------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantState:
    """Where a participant stood after an event: what the dial row would say at that point."""

    status: str = DialStatus.PENDING
    answered_by: str = ""
    answered_at: datetime | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str = ""
    call_duration_seconds: int | None = None
    sip_response_code: int | None = None
    error_code: int | None = None
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    muted_sequence: int | None = None
    hold_sequence: int | None = None
    coaching_sequence: int | None = None
    recording_sid: str = ""
    conference_status: str = ""

    @property
    def status_label(self) -> str:
        return str(DialStatus(self.status).label)

    @property
    def in_conference(self) -> bool:
        return self.joined_at is not None and (
            self.left_at is None or self.left_at < self.joined_at
        )

    @property
    def flags(self) -> list[str]:
        flags = [
            name
            for name, on in (
                ("muted", self.muted),
                ("on hold", self.hold),
                ("coaching", self.coaching),
            )
            if on
        ]
        if self.in_conference:
            flags.insert(0, "in the conference")
        elif self.left_at is not None:
            flags.insert(0, "left")
        if self.answered_by:
            flags.append(f"answered by {self.answered_by}")
        return flags


@dataclass(frozen=True)
class ReplayEvent:
    """One step of a dial's life, as the pure replay reads it."""

    kind: str  # a CallbackKind, or "attempt" for a pipeline attempt
    event: str  # CallStatus, StatusCallbackEvent, … or the attempt's outcome
    received_at: datetime
    params: Mapping[str, Any] = field(default_factory=dict)
    sequence_number: int | None = None
    twilio_timestamp: datetime | None = None
    error_code: int | None = None

    def param(self, name: str) -> str:
        return callbacks.param_value(self.params, name)

    @property
    def moment(self) -> datetime:
        return self.twilio_timestamp or self.received_at


ATTEMPT = "attempt"


def _int_param(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def _bool_param(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value.strip().lower())


def _advance(state: ParticipantState, status: str) -> dict[str, Any]:
    if DIAL_STATUS_RANK[status] > DIAL_STATUS_RANK[state.status]:
        return {"status": status}
    return {}


def _earliest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment < current else current


def _latest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment > current else current


def next_state(state: ParticipantState, event: ReplayEvent) -> ParticipantState:
    """The participant's state after one event: the rules of callbacks.apply_event, kept pure.

    Forward-only status, the first final state wins and alone fills in how the call ended,
    answered/joined keep the earliest time and left the latest, toggles follow the highest
    SequenceNumber; so replaying in received order ends where the database row ended.
    """
    changes: dict[str, Any] = {}
    if event.kind == ATTEMPT:
        if event.event in (DialAttempt.Outcome.PLACED, DialAttempt.Outcome.ADOPTED):
            changes.update(_advance(state, DialStatus.QUEUED))
        elif event.event == DialAttempt.Outcome.PERMANENT_ERROR:
            changes.update(_advance(state, DialStatus.FAILED))
            if state.error_code is None and event.error_code:
                changes["error_code"] = event.error_code
        elif state.status == DialStatus.PENDING:
            changes["status"] = DialStatus.PLACING
    elif event.kind == CallbackKind.CALL_STATUS:
        changes.update(_call_status_changes(state, event))
    elif event.kind == CallbackKind.CONFERENCE:
        changes.update(_conference_changes(state, event))
    elif event.kind == CallbackKind.RECORDING:
        recording_sid = event.param("RecordingSid")
        if event.event == "completed" or (
            event.event in ("in-progress", "paused", "stopped", "processing")
            and not state.recording_sid
        ):
            changes["recording_sid"] = recording_sid
    elif event.kind == CallbackKind.AMD and not state.answered_by:
        changes["answered_by"] = event.event[:32]
    return dataclasses.replace(state, **changes) if changes else state


def _call_status_changes(state: ParticipantState, event: ReplayEvent) -> dict[str, Any]:
    meaning = callbacks.CALL_STATUSES.get(event.event)
    if meaning is None:
        return {}
    status = meaning.dial_status
    changes = _advance(state, status)
    answered_by = event.param("AnsweredBy")
    if answered_by and not state.answered_by:
        changes["answered_by"] = answered_by[:32]
    if status == DialStatus.IN_PROGRESS:
        changes["answered_at"] = _earliest(state.answered_at, event.moment)
    if status in FINAL_DIAL_STATUSES and changes.get("status", state.status) == status:
        if state.ended_at is None:
            changes["ended_at"] = event.moment
            changes["call_duration_seconds"] = _int_param(event.param("CallDuration"))
            changes["sip_response_code"] = _int_param(event.param("SipResponseCode"))
        if status != DialStatus.COMPLETED and not state.end_reason:
            changes["end_reason"] = str(status)
        error_code = _int_param(event.param("ErrorCode"))
        if error_code and state.error_code is None:
            changes["error_code"] = error_code
    return changes


def _conference_changes(state: ParticipantState, event: ReplayEvent) -> dict[str, Any]:
    meaning = callbacks.CONFERENCE_EVENTS.get(event.event)
    if meaning is None:
        return {}
    changes: dict[str, Any] = {}
    if meaning.conference_status is not None:
        changes["conference_status"] = str(meaning.conference_status)
    if not meaning.participant:
        return changes
    if meaning.joins:
        changes.update(_advance(state, DialStatus.IN_PROGRESS))
        changes["joined_at"] = _earliest(state.joined_at, event.moment)
        changes["answered_at"] = _earliest(state.answered_at, event.moment)
    if meaning.leaves:
        changes["left_at"] = _latest(state.left_at, event.moment)
        reason = event.param("ReasonParticipantLeft")
        if reason:
            changes["end_reason"] = reason[:64]
    for toggle in callbacks.Toggle:
        value = meaning.toggles.get(toggle, _bool_param(event.param(toggle.value)))
        if value is None:
            continue
        seen = getattr(state, toggle.sequence_field)
        sequence = event.sequence_number
        if sequence is None:
            if seen is None:
                changes[toggle.field_name] = value
        elif seen is None or seen < sequence:
            changes[toggle.field_name] = value
            changes[toggle.sequence_field] = sequence
    return changes


def replay(
    events: Iterable[ReplayEvent], start: ParticipantState | None = None
) -> list[ParticipantState]:
    """The state after each event, replaying them in the order given (received order)."""
    state = start or ParticipantState()
    states = []
    for event in events:
        state = next_state(state, event)
        states.append(state)
    return states


def replay_event_from_callback(event: CallbackEvent) -> ReplayEvent:
    return ReplayEvent(
        kind=event.kind,
        event=event.event,
        received_at=event.received_at,
        params=event.params if isinstance(event.params, Mapping) else {},
        sequence_number=event.sequence_number,
        twilio_timestamp=event.twilio_timestamp,
    )


def replay_event_from_attempt(attempt: DialAttempt) -> ReplayEvent:
    return ReplayEvent(
        kind=ATTEMPT,
        event=attempt.outcome,
        received_at=attempt.started_at,
        error_code=attempt.error_code,
    )


# Parameters worth a glance on the timeline, per kind; the rest sit behind "all parameters".
KEY_PARAMETERS: dict[str, tuple[str, ...]] = {
    CallbackKind.CALL_STATUS: (
        "CallStatus",
        "AnsweredBy",
        "CallDuration",
        "SipResponseCode",
        "ErrorCode",
        "ErrorMessage",
    ),
    CallbackKind.CONFERENCE: (
        "StatusCallbackEvent",
        "ParticipantLabel",
        "Muted",
        "Hold",
        "Coaching",
        "ParticipantCallStatus",
        "ReasonParticipantLeft",
        "ReasonConferenceEnded",
        "CallSidEndingConference",
    ),
    CallbackKind.RECORDING: ("RecordingStatus", "RecordingSid", "RecordingDuration"),
    CallbackKind.CONFERENCE_RECORDING: ("RecordingStatus", "RecordingSid", "RecordingDuration"),
    CallbackKind.AMD: ("AnsweredBy", "MachineDetectionDuration"),
}
# Parameters that carry a phone number: masked like every number the viewer may not see.
NUMBER_PARAMETERS = frozenset({"To", "From", "Called", "Caller", "CallerId", "CallerID"})
# Never shown, whatever a row holds (SipAuthPassword is never stored in params anyway).
SECRET_PARAMETERS = frozenset({"SipAuthPassword"})


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "callback", "attempt" or "audit"
    kind: str
    kind_label: str
    event: str
    summary: str
    key_params: list[tuple[str, str]]
    raw_params: list[tuple[str, str]]
    sequence_number: int | None = None
    twilio_timestamp: datetime | None = None
    state: ParticipantState | None = None
    outcome: str = ""
    about_conference: bool = False  # a conference-wide event, not this participant's


@dataclass(frozen=True)
class DialStory:
    """Everything about one dial, as this viewer may see it."""

    dial: DialRequest
    to_display: str
    from_display: str
    verdict: str
    details: list[str]
    params: list[tuple[str, str]]
    response: list[tuple[str, str]]
    attempts: list[DialAttempt]
    timeline: list[TimelineEntry]
    final_state: ParticipantState
    can_listen: bool
    time_to_answer: timedelta | None
    time_in_conference: timedelta | None

    @property
    def has_recording(self) -> bool:
        return bool(self.dial.recording_sid)

    @property
    def time_to_answer_text(self) -> str:
        return format_duration(self.time_to_answer)

    @property
    def time_in_conference_text(self) -> str:
        return format_duration(self.time_in_conference)

    @property
    def decided_by_words(self) -> str:
        return DECIDED_BY_WORDS.get(self.dial.placed_by_check, self.dial.placed_by_check)


def _shown_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if value is None:
        return ""
    return str(value)


def _visible_params(
    user: Viewer, dial: DialRequest, params: Mapping[str, Any]
) -> list[tuple[str, str]]:
    shown = []
    for name in sorted(params):
        if name in SECRET_PARAMETERS:
            continue
        value = _shown_value(params[name])
        if name in NUMBER_PARAMETERS:
            value = masking.visible_number(user, value, placed_by_id=dial.operator_id)
        shown.append((name, value))
    return shown


def _callback_summary(event: CallbackEvent) -> str:
    if event.kind == CallbackKind.CALL_STATUS:
        meaning = callbacks.CALL_STATUSES.get(event.event)
        label = meaning.dial_status.label if meaning else f"unknown status {event.event!r}"
        code = _int_param(event.param("SipResponseCode"))
        return f"Call: {label}" + (f" ({sip_words(code)})" if code and code != 200 else "")
    if event.kind == CallbackKind.CONFERENCE:
        reason = event.param("ReasonParticipantLeft")
        ended = event.param("ReasonConferenceEnded")
        words = event.event.replace("-", " ").capitalize()
        if reason:
            words += f": {LEAVE_REASON_WORDS.get(reason, reason)}"
        if ended:
            words += f": {CONFERENCE_END_WORDS.get(ended, ended)}"
        return words
    if event.kind in (CallbackKind.RECORDING, CallbackKind.CONFERENCE_RECORDING):
        return f"Recording {event.event}"
    if event.kind == CallbackKind.AMD:
        return f"Answered by {ANSWERED_BY_WORDS.get(event.event, event.event)}"
    return event.event


def _attempt_summary(attempt: DialAttempt) -> str:
    words = f"Attempt {attempt.number}: {attempt.get_outcome_display()}"
    if attempt.decided_by:
        words += f" — {DECIDED_BY_WORDS.get(attempt.decided_by, attempt.decided_by)}"
    return words


def _story_events(dial: DialRequest) -> list[CallbackEvent]:
    """The dial's own callbacks, and the conference-wide ones (start, end) around it."""
    conference_wide = [
        name for name, meaning in callbacks.CONFERENCE_EVENTS.items() if not meaning.participant
    ]
    return list(
        CallbackEvent.objects.filter(
            Q(dial=dial)
            | Q(
                dial__isnull=True,
                conference_id=dial.conference_id,
                kind__in=[CallbackKind.CONFERENCE, CallbackKind.CONFERENCE_RECORDING],
                event__in=[*conference_wide, *callbacks.RECORDING_STATUSES],
            )
        ).order_by("received_at", "pk")
    )


def dial_for_viewer(user: Viewer, dial_id: int) -> DialRequest:
    """The dial if this viewer may see it; DialRequest.DoesNotExist otherwise (a 404)."""
    return visible_dials(user).select_related("conference", "operator", "account").get(pk=dial_id)


def dial_story(user: Viewer, dial_id: int) -> DialStory:
    """One dial's whole story: parameters, attempts, Twilio's answer and the timeline."""
    dial = dial_for_viewer(user, dial_id)
    attempts = list(dial.attempt_log.order_by("started_at", "pk"))
    events = _story_events(dial)
    audits = list(AuditEntry.objects.filter(dial=dial).select_related("actor").order_by("at", "pk"))

    steps: list[tuple[datetime, int, Any]] = [
        (attempt.started_at, 0, attempt) for attempt in attempts
    ]
    steps += [(event.received_at, 1, event) for event in events]
    steps += [(entry.at, 2, entry) for entry in audits]
    steps.sort(key=lambda step: (step[0], step[1]))

    state = ParticipantState()
    timeline: list[TimelineEntry] = []
    for at, _order, item in steps:
        if isinstance(item, DialAttempt):
            state = next_state(state, replay_event_from_attempt(item))
            timeline.append(
                TimelineEntry(
                    at=at,
                    source="attempt",
                    kind=ATTEMPT,
                    kind_label="Pipeline",
                    event=item.outcome,
                    summary=_attempt_summary(item),
                    key_params=[
                        (name, str(value))
                        for name, value in (
                            ("HTTP status", item.http_status),
                            ("Error code", item.error_code),
                            ("Latency", f"{item.latency_ms} ms" if item.latency_ms else None),
                            ("Detail", item.detail),
                        )
                        if value
                    ],
                    raw_params=[],
                    state=state,
                    outcome=item.outcome,
                )
            )
        elif isinstance(item, CallbackEvent):
            about_conference = item.dial_id is None
            state = next_state(state, replay_event_from_callback(item))
            params = item.params if isinstance(item.params, Mapping) else {}
            visible = _visible_params(user, dial, params)
            keys = KEY_PARAMETERS.get(item.kind, ())
            timeline.append(
                TimelineEntry(
                    at=at,
                    source="callback",
                    kind=item.kind,
                    kind_label=str(CallbackKind(item.kind).label)
                    if item.kind in CallbackKind.values
                    else item.kind,
                    event=item.event,
                    summary=_callback_summary(item),
                    key_params=[(name, value) for name, value in visible if name in keys],
                    raw_params=visible,
                    sequence_number=item.sequence_number,
                    twilio_timestamp=item.twilio_timestamp,
                    state=state,
                    about_conference=about_conference,
                )
            )
        else:
            timeline.append(
                TimelineEntry(
                    at=at,
                    source="audit",
                    kind="audit",
                    kind_label="Audit",
                    event=item.action,
                    summary=f"{item.actor or 'The system'}: {item.action}",
                    key_params=[(name, _shown_value(value)) for name, value in item.detail.items()]
                    if isinstance(item.detail, Mapping)
                    else [],
                    raw_params=[],
                    outcome=item.outcome,
                )
            )

    verdict, details = explain_outcome(dial)
    params = dial.params if isinstance(dial.params, Mapping) else {}
    response = dial.response if isinstance(dial.response, Mapping) else {}
    return DialStory(
        dial=dial,
        to_display=masking.visible_number(user, dial.to_number, placed_by_id=dial.operator_id),
        from_display=masking.visible_number(user, dial.from_number, placed_by_id=dial.operator_id),
        verdict=verdict,
        details=details,
        params=_visible_params(user, dial, params),
        response=_visible_params(user, dial, response),
        attempts=attempts,
        timeline=timeline,
        final_state=state,
        can_listen=can_listen_to_recordings(user) and bool(dial.recording_sid),
        time_to_answer=callbacks.time_to_answer(dial),
        time_in_conference=callbacks.time_in_conference(dial),
    )


def explain_outcome(dial: DialRequest) -> tuple[str, list[str]]:
    """One sentence on how the dial went (why the caller never joined, if not), and details."""
    details: list[str] = []
    if dial.error_code or dial.error_message:
        words = twilio_error_words(dial.error_code, dial.error_message)
        code = f"Twilio error {dial.error_code}: " if dial.error_code else ""
        details.append(f"{code}{words}.")
        if dial.error_more_info:
            details.append(f"More about it: {dial.error_more_info}")
    if dial.sip_response_code and dial.sip_response_code != 200:
        details.append(f"The carrier answered {sip_words(dial.sip_response_code)}.")
    if dial.answered_by and dial.answered_by != "human":
        details.append(
            f"Machine detection: {ANSWERED_BY_WORDS.get(dial.answered_by, dial.answered_by)}."
        )
    if dial.queue_time_ms:
        details.append(
            f"Twilio queued the call for {dial.queue_time_ms / 1000:.1f} s "
            "(the account's calls-per-second limit)."
        )
    if dial.conference.reason_ended:
        reason = dial.conference.reason_ended
        details.append(f"The conference ended: {CONFERENCE_END_WORDS.get(reason, reason)}.")

    status = dial.status
    if status == DialStatus.PENDING:
        if dial.needs_verification:
            return (
                "Not placed yet: checking whether an earlier attempt already reached Twilio.",
                details,
            )
        return "Not placed yet: waiting for a worker to place the call.", details
    if status == DialStatus.PLACING:
        return "Being placed: a worker is asking Twilio for the call now.", details
    if status in (DialStatus.QUEUED, DialStatus.INITIATED):
        return "Twilio is setting up the call.", details
    if status == DialStatus.RINGING:
        return "Ringing: the caller has not answered yet.", details
    if status == DialStatus.IN_PROGRESS:
        if dial.joined_at:
            return "In the conference now.", details
        return "Answered; not in the conference yet.", details
    if status == DialStatus.FAILED and not dial.call_sid:
        reason = dial.failure_reason or "Twilio refused the call"
        return f"Never joined: the call was never placed ({reason}).", details
    if dial.joined_at:
        spent = format_duration(callbacks.time_in_conference(dial))
        why = LEAVE_REASON_WORDS.get(dial.end_reason, dial.end_reason.replace("_", " "))
        stayed = f" after {spent}" if spent else ""
        return f"Joined the conference and left{stayed}" + (f": {why}." if why else "."), details
    never = "Never joined: "
    if status == DialStatus.BUSY:
        return never + "the line was busy.", details
    if status == DialStatus.NO_ANSWER:
        return never + "nobody answered before Twilio stopped ringing.", details
    if status == DialStatus.CANCELED:
        return never + "the call was canceled before it was answered.", details
    if status == DialStatus.FAILED:
        return never + "the call failed after it was placed.", details
    if dial.answered_at and dial.answered_by and dial.answered_by != "human":
        who = ANSWERED_BY_WORDS.get(dial.answered_by, dial.answered_by)
        return never + f"answered by {who}, and the call ended.", details
    if dial.answered_at:
        why = LEAVE_REASON_WORDS.get(dial.end_reason, dial.end_reason.replace("_", " "))
        return never + "answered, but the call ended before joining" + (
            f": {why}." if why else "."
        ), details
    return never + "the call ended without being answered.", details


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
