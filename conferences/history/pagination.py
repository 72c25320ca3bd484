"""Keyset pagination of the history: sort keys and signed cursors, never OFFSET."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import (
    F,
    Q,
)

from conferences.models import (
    DialRequest,
)

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
