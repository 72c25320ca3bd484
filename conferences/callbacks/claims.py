"""Taking a batch of stored callbacks to apply, and marking the batch applied.

Several appliers share the backlog (threads of one `callbacks` process, several such
processes, the beat backstop). Each event belongs to a *lane*: its call (CallSid), or for
an event about no call, its conference (ConferenceSid). An applier applies only the
lanes it holds, each lane's events oldest first, in one transaction; a lane is held with a
transaction-level advisory lock, taken before its events are read. So two appliers never
apply one event twice, never apply one call's events out of order, and never both wait
on one dial's row. Lanes of one conference still share its row: its updates are short.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from conferences.models import CallbackEvent

# An event whose application raised (a bug, not bad input: that was refused at the door)
# is tried this many times, then left unapplied and counted on the webhook health page.
MAX_APPLY_ATTEMPTS = 3
# The oldest unapplied events looked at for lanes to take, and the events one batch takes.
WINDOW = 1000
BATCH = 200
# The first key of the lane locks (the second is the lane's hash): no other advisory
# lock of the app uses it (submission's conference-name lock uses the one-key form).
LANE_LOCK_SPACE = 0x0CA11


def unapplied_events() -> QuerySet[CallbackEvent]:
    """Stored, not yet applied, and still worth trying (the partial index `callback_unapplied`)."""
    return CallbackEvent.objects.filter(
        applied_at__isnull=True, apply_attempts__lt=MAX_APPLY_ATTEMPTS
    )


def lane(call_sid: str, conference_sid: str) -> str:
    """The lane of an event: its call, or the conference of an event about no call."""
    return call_sid or conference_sid


def _lanes_by_age(window: Sequence[tuple[int, str, str]]) -> dict[str, int]:
    """The window's lanes, the one with the oldest event first, with their event counts."""
    counts: dict[str, int] = {}
    for _, call_sid, conference_sid in window:
        key = lane(call_sid, conference_sid)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _try_lanes(lanes: Sequence[str]) -> list[str]:
    """The lanes this transaction now holds, of those asked for (held ones are skipped)."""
    if connection.vendor != "postgresql":
        return list(lanes)  # one writer at a time (SQLite): nothing to share
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lane FROM unnest(%s::text[]) AS lane "
            "WHERE pg_try_advisory_xact_lock(%s, hashtext(lane))",
            [list(lanes), LANE_LOCK_SPACE],
        )
        return [row[0] for row in cursor.fetchall()]


def _in_lanes(lanes: Collection[str]) -> Q:
    calls = [key for key in lanes if key]
    return Q(call_sid__in=calls) | Q(call_sid="", conference_sid__in=[*lanes])


def claim_batch(*, exclude: Collection[int] = (), size: int = BATCH) -> list[CallbackEvent]:
    """The oldest lanes no other applier holds, and their events oldest first (up to about
    `size`), locked for this transaction; [] when nothing is waiting. Call it inside one."""
    window = list(
        unapplied_events()
        .exclude(pk__in=exclude)
        .order_by("pk")
        .values_list("pk", "call_sid", "conference_sid")[:WINDOW]
    )
    if not window:
        return []
    counts = _lanes_by_age(window)
    candidates = list(counts)
    held: list[str] = []
    taken = 0
    while candidates and taken < size:
        # Ask for about as many lanes as fill the batch, in one statement; more if some
        # were held by another applier.
        asked: list[str] = []
        asking = 0
        while candidates and taken + asking < size:
            asked.append(candidates.pop(0))
            asking += counts[asked[-1]]
        got = set(_try_lanes(asked))
        held += [key for key in asked if key in got]
        taken += sum(counts[key] for key in got)
    if not held:
        return []
    # Read under the lane locks: every unapplied event of a held lane up to the window's
    # end, so a lane's older events are never skipped for newer ones.
    return list(
        unapplied_events()
        .exclude(pk__in=exclude)
        .filter(_in_lanes(held), pk__lte=window[-1][0])
        .select_for_update()
        .order_by("pk")
    )


def mark_applied(events: Sequence[CallbackEvent], *, at: datetime) -> None:
    """Record a batch as applied, with what correlation found, in one statement."""
    if not events:
        return
    quote = connection.ops.quote_name
    fields = {name: CallbackEvent._meta.get_field(name) for name in ("dial", "conference")}
    dial_column, conference_column = (quote(str(f.column)) for f in fields.values())  # type: ignore[union-attr]
    cast = str(fields["dial"].cast_db_type(connection))  # type: ignore[union-attr]
    ids = ", ".join(["%s"] * len(events))

    def per_event(column: str, values: list[Any], type_name: str) -> tuple[str, list[Any]]:
        cases = " ".join(f"WHEN %s THEN CAST(%s AS {type_name})" for _ in events)
        params: list[Any] = []
        for event, value in zip(events, values, strict=True):
            params += [event.pk, value]
        return f"{column} = CASE {quote('id')} {cases} ELSE {column} END", params

    dial_sql, dial_params = per_event(dial_column, [e.dial_id for e in events], cast)
    conference_sql, conference_params = per_event(
        conference_column, [e.conference_id for e in events], cast
    )
    orphaned_sql, orphaned_params = per_event(
        quote("orphaned"), [e.orphaned for e in events], "boolean"
    )
    # Identifiers come from the model, every value is a parameter.
    sql = (
        f"UPDATE {quote(CallbackEvent._meta.db_table)} SET "  # noqa: S608
        f"{quote('applied_at')} = %s, {quote('apply_error')} = '', "
        f"{quote('apply_attempts')} = {quote('apply_attempts')} + 1, "
        f"{dial_sql}, {conference_sql}, {orphaned_sql} WHERE {quote('id')} IN ({ids})"
    )
    params = [at, *dial_params, *conference_params, *orphaned_params, *(e.pk for e in events)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for event in events:
        event.applied_at, event.apply_error = at, ""
        event.apply_attempts += 1
