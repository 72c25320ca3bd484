"""Counting the requests reconciliation makes to Twilio's API (issue 19: API requests per
dial is how a benchmark sees that the steady check stays cheap)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import redis

from conferences.core.redis_connection import redis_client

# Every process adds its requests here, so one number covers the workers and the web.
API_REQUESTS_KEY = "reconcile:api-requests"


class _RequestCount:
    """This process's requests (for one sweep's report), and every process's in Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1
        # A count must never stop reconciliation: Redis down loses the count, not the truth.
        with contextlib.suppress(redis.RedisError):
            redis_client().incr(API_REQUESTS_KEY)


_requests = _RequestCount()


def requests_made_here() -> int:
    """This process's requests so far (a sweep reports the difference)."""
    return _requests.value


def ask[T](request: Callable[[], T]) -> T:
    """Make one request to Twilio's API, counted."""
    _requests.add()
    return request()


def api_requests_made() -> int:
    """Requests reconciliation made to Twilio's API, by every process, since Redis started
    (Redis keeps no history here: a restart starts the count again); 0 when Redis is down."""
    try:
        raw = redis_client().get(API_REQUESTS_KEY)
    except redis.RedisError:
        return 0
    return int(raw or 0)
