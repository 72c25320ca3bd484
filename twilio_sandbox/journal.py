"""What the sandbox received and sent, for /_sandbox/requests and /_sandbox/callbacks.

Secrets never enter the journal: the Authorization header is not kept at all and
SipAuthPassword values are replaced before storing.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from twilio_sandbox.clock import utcnow

REDACTED: Final = "[redacted]"
SECRET_PARAMS: Final = frozenset({"SipAuthPassword"})


def redact(params: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {
        name: [REDACTED] * len(values) if name in SECRET_PARAMS else list(values)
        for name, values in params.items()
    }


def group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


class Journal:
    def __init__(self, limit: int = 5000) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._requests: deque[dict[str, Any]] = deque(maxlen=limit)
        self._callbacks: deque[dict[str, Any]] = deque(maxlen=limit)

    def record_request(
        self,
        *,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        params: Mapping[str, Sequence[str]],
        account_sid: str | None,
        status: int | None,
        error_code: int | None,
        duration_ms: float,
    ) -> None:
        entry = {
            "id": next(self._ids),
            "time": utcnow().isoformat(),
            "method": method,
            "path": path,
            "query": redact(query),
            "params": redact(params),
            "account_sid": account_sid,
            "status": status,
            "error_code": error_code,
            "duration_ms": round(duration_ms, 1),
        }
        with self._lock:
            self._requests.append(entry)

    def open_callback(self, **fields: Any) -> dict[str, Any]:
        entry = {
            "id": next(self._ids),
            "time": utcnow().isoformat(),
            "status": "pending",
            "response_status": None,
            "error": None,
            "delivered_at": None,
            **fields,
        }
        entry["params"] = redact(entry.get("params", {}))
        with self._lock:
            self._callbacks.append(entry)
        return entry

    def close_callback(self, entry: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            entry.update(fields, delivered_at=utcnow().isoformat())

    def requests(self, filters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._requests if _admits(e, filters)]

    def callbacks(self, filters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._callbacks if _admits(e, filters)]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._callbacks.clear()


def _admits(entry: Mapping[str, Any], filters: Mapping[str, str] | None) -> bool:
    return all(str(entry.get(key)) == value for key, value in (filters or {}).items())
