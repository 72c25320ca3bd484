"""CSV export of the call history: streamed, in constant memory, safe to open in a spreadsheet.

Rows come from a server-side cursor (`.iterator(chunk_size=2000)`): the first bytes leave
before the query has produced its last row, and memory stays flat for a million dials.

Spreadsheet safety, and how it meets phone numbers
--------------------------------------------------
Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-`, `@` (and a
tab or carriage return) as a formula, so any such text cell is written with a leading
apostrophe (`'`), the spreadsheet's own "this is text" marker. A number the app validated
as E.164 (`+` and up to 15 digits, nothing else) cannot carry a formula, so it is written
as it is: `+14155550142` imports cleanly into a CRM or a dialer. Any other number cell (a
masked `+1 415 ••• 0142`, digits with a leading zero, a caller ID typed as free text) gets
the apostrophe like text does, so it stays text. Times are ISO 8601 in UTC; durations are
whole seconds; the file starts with a UTF-8 byte order mark so Excel reads names and the
mask character (•) correctly.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from django.utils import timezone

from conferences.accounts import masking
from conferences.audit import trail as audit
from conferences.audit.trail import AuditAction
from conferences.core import words
from conferences.history import filters as history_filters
from conferences.history import rows as history_rows
from conferences.models import DialRequest, User

CHUNK_SIZE = 2000  # rows per fetch from the server-side cursor
ROWS_PER_WRITE = 200  # rows per chunk of the response
BYTE_ORDER_MARK = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# What the dial form writes for a phone number (dialing.fields.normalise_phone_number).
E164_NUMBER = re.compile(r"\+[1-9][0-9]{1,14}")


def _starts_a_formula(value: str) -> bool:
    """What a spreadsheet may read as a formula: a trigger, also in its full-width or small
    forms (U+FF1D, U+FF0B, U+FF0D, U+FF20, U+FE62 …: NFKC folds them), also after leading
    spaces; or a leading invisible character (zero-width space, joiners, bidi marks, BOM:
    Unicode's format characters), which hides from a reader what the cell starts with."""
    if value[:1] and unicodedata.category(value[0]) == "Cf":
        return True
    visible = value.lstrip(" \u00a0\u3000")
    return unicodedata.normalize("NFKC", visible[:1]).startswith(FORMULA_TRIGGERS)


def spreadsheet_text(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return f"'{value}" if _starts_a_formula(value) else value


def spreadsheet_number(value: str) -> str:
    """A phone number: as it is when E.164 (no formula fits in one); otherwise kept as
    text, a leading `+` or digit getting the apostrophe."""
    if E164_NUMBER.fullmatch(value):
        return value
    if value[:1].isdigit():
        return f"'{value}"
    return spreadsheet_text(value)


def iso_utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def whole_seconds(value: timedelta | None) -> str:
    value = words.without_clock_grain(value)
    return "" if value is None else str(round(value.total_seconds()))


def _int(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[history_rows.HistoryRow], str]
    number: bool = False  # a phone number: kept as text


COLUMNS: tuple[Column, ...] = (
    Column("dial_id", lambda r: str(r.dial.pk)),
    Column("created_at_utc", lambda r: iso_utc(r.dial.created_at)),
    Column("conference", lambda r: r.conference_name),
    Column("conference_sid", lambda r: r.conference_sid),
    Column("operator", lambda r: r.operator_name),
    Column("to", lambda r: r.to_display, number=True),
    Column("from", lambda r: r.from_display, number=True),
    Column("label", lambda r: r.dial.label),
    Column("status", lambda r: r.dial.status),
    Column("answered_by", lambda r: r.dial.answered_by),
    Column("answered_at_utc", lambda r: iso_utc(r.dial.answered_at)),
    Column("joined_at_utc", lambda r: iso_utc(r.dial.joined_at)),
    Column("left_at_utc", lambda r: iso_utc(r.dial.left_at)),
    Column("ended_at_utc", lambda r: iso_utc(r.dial.ended_at)),
    Column("time_to_answer_seconds", lambda r: whole_seconds(r.time_to_answer)),
    Column("time_in_conference_seconds", lambda r: whole_seconds(r.time_in_conference)),
    Column("call_duration_seconds", lambda r: _int(r.dial.call_duration_seconds)),
    Column("end_reason", lambda r: r.dial.end_reason),
    Column("sip_response_code", lambda r: _int(r.dial.sip_response_code)),
    Column("error_code", lambda r: _int(r.dial.error_code)),
    Column("error_message", lambda r: r.error_words),
    Column("failure_reason", lambda r: r.dial.failure_reason),
    Column("attempts", lambda r: str(r.attempt_count)),
    Column("call_sid", lambda r: r.dial.call_sid),
)


def csv_cells(row: history_rows.HistoryRow) -> list[str]:
    """One dial's cells, each escaped for spreadsheets."""
    cells = []
    for column in COLUMNS:
        value = column.value(row)
        cells.append(spreadsheet_number(value) if column.number else spreadsheet_text(value))
    return cells


def export_filename(now: datetime | None = None) -> str:
    moment = (now or timezone.now()).astimezone(UTC)
    return f"call-history-{moment:%Y%m%d-%H%M%S}Z.csv"


def history_csv(
    *,
    user: User,
    filters: history_filters.HistoryFilters,
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> Iterator[str]:
    """Audit the export, then stream it: the header at once, then the rows in chunks.

    The query runs only when the first row chunk is asked for, so the response starts
    before the database has produced every row.
    """
    zone = zone or timezone.get_current_timezone()
    now = now or timezone.now()
    audit.record(
        AuditAction.EXPORT,
        actor=user,
        target_type="history",
        detail={
            "filters": filters.query_items(),
            "full_numbers": masking.can_see_full_numbers(user),
        },
    )
    dials = history_rows.history_queryset(user, filters, zone=zone, now=now)
    return _csv_lines(user, dials.iterator(chunk_size=CHUNK_SIZE))


def _csv_lines(user: User, dials: Iterator[DialRequest]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.header for column in COLUMNS])
    yield BYTE_ORDER_MARK + _drain(buffer)
    pending = 0
    full_numbers = masking.can_see_full_numbers(user)
    for dial in dials:
        writer.writerow(csv_cells(history_rows.history_row(user, dial, full_numbers=full_numbers)))
        pending += 1
        if pending == ROWS_PER_WRITE:
            yield _drain(buffer)
            pending = 0
    if pending:
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
