"""The one Redis client of a process (per URL), shared by heartbeats, pacing and caches."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


def redis_client(url: str | None = None) -> redis.Redis:
    """A client for `url` (default REDIS_URL), shared within the process.

    One per URL, so its connection pool is reused: a new client per call costs a TCP
    connect per command (~1.5 ms), which is most of a webhook request. redis-py's pool
    notices a fork and opens fresh connections in the child.
    """
    return _client_for(url or settings.REDIS_URL)


@functools.lru_cache(maxsize=16)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
