"""Storing each callback exactly once, with one INSERT that a delivery repeated by Twilio
cannot double.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.db.models import Field
from django.utils import timezone

from conferences.callbacks.reading import _BIGINT_MAX, Reading, read_callback
from conferences.models import (
    CallbackEvent,
)

logger = logging.getLogger(__name__)


# --- Recording a callback -------------------------------------------------------------


def storable_params(params: Mapping[str, Sequence[str]]) -> dict[str, str | list[str]]:
    """Parameters for the JSON column: a single value as is, a repeated name as a list."""
    return {
        name: values[0] if len(values) == 1 else list(values) for name, values in params.items()
    }


@dataclass(frozen=True)
class StoredCallback:
    reading: Reading
    event_id: int | None  # None: a second delivery of a callback already stored

    @property
    def created(self) -> bool:
        return self.event_id is not None


# What the receiver writes; correlation (dial, conference, orphaned) is the applier's.
_STORED_FIELDS = (
    "kind",
    "account_sid",
    "call_sid",
    "conference_sid",
    "event",
    "sequence_number",
    "twilio_timestamp",
    "received_at",
    "params",
    "dedupe_key",
    "unknown_value",
    "dial_id_in_url",
    "orphaned",
    "apply_attempts",
    "apply_error",
)


@cache
def _stored_fields() -> list[Field[Any, Any]]:
    return [CallbackEvent._meta.get_field(name) for name in _STORED_FIELDS]  # type: ignore[misc]


@cache
def _insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in _stored_fields())
    placeholders = ", ".join(["%s"] * len(_STORED_FIELDS))
    # Identifiers come from the model, every value is a parameter.
    return (
        f"INSERT INTO {quote(CallbackEvent._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({placeholders}) "
        f"ON CONFLICT ({quote('dedupe_key')}) DO NOTHING RETURNING {quote('id')}"
    )


def store_callback(
    kind: str,
    params: Mapping[str, Sequence[str]],
    *,
    dial_id_in_url: int,
    received_at: datetime | None = None,
) -> StoredCallback:
    """Store a verified callback once: the receiver's only database work, one statement.

    `INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`, committed on its own, so
    the event is durable before Twilio hears 2xx, a second delivery stores nothing, and no
    row of ours is locked while Twilio waits. The ORM would need a savepoint and a second
    query to tell a duplicate apart. The `callbacks` process applies it (`apply_pending_callbacks`).
    """
    stored_params = storable_params(params)
    reading = read_callback(kind, stored_params)
    event = CallbackEvent(
        kind=kind,
        account_sid=reading.account_sid,
        call_sid=reading.call_sid,
        conference_sid=reading.conference_sid,
        event=reading.event[:64],
        sequence_number=reading.sequence_number,
        twilio_timestamp=reading.timestamp,
        received_at=received_at or timezone.now(),
        params=stored_params,
        dedupe_key=reading.dedupe_key(),
        unknown_value=not reading.known,
        dial_id_in_url=dial_id_in_url if 0 <= dial_id_in_url <= _BIGINT_MAX else None,
    )
    fields = _stored_fields()
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    return StoredCallback(reading=reading, event_id=_insert_once(values))


def _insert_once(values: Sequence[Any]) -> int | None:
    """Run the insert; on a connection that turns out dead, reconnect and run it again.

    Safe to repeat: a second run of an insert that did commit finds its dedupe key taken.
    So this statement skips Django's per-request health check (CONN_HEALTH_CHECKS: a
    `SELECT 1` before the request's first query), which would double its round trips.
    """
    retry = not connection.in_atomic_block  # inside a transaction, the caller decides
    if retry and connection.connection is not None:
        # Django's own flag (BaseDatabaseWrapper), which the stubs leave out; a test fails
        # should Django stop honouring it.
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return _execute_insert(values)
    except (InterfaceError, OperationalError):
        if not retry:
            raise
        logger.warning("Storing a callback failed on a dead connection; reconnecting")
        connection.close()
        return _execute_insert(values)


def _execute_insert(values: Sequence[Any]) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), values)
        row = cursor.fetchone()
    return row[0] if row else None
