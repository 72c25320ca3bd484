"""Who calls the API: a personal token in `Authorization: Bearer …`, and how often.

The token's user becomes `request.user`, so every permission check below is the one the
pages make (the action x role table, conference access, masking)."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from conferences.api import tokens
from conferences.api.errors import ApiError
from conferences.core.redis_connection import redis_client
from conferences.models import ApiToken

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60
# The wall clock the windows are read from (a test sets it, to stay inside one window).
clock = time.time


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cdd_…`: a personal token made on the API tokens page."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.authenticate(token)
        if found is None:
            return None
        enforce_rate_limit(found)
        request.user = found.user
        return found


def enforce_rate_limit(token: ApiToken) -> None:
    """At most API_RATE_LIMIT_PER_MINUTE requests per token in each clock minute; beyond,
    ApiError 429 with Retry-After (the seconds until the window turns)."""
    now = clock()
    window = int(now // RATE_WINDOW_SECONDS)
    key = f"api-rate:{token.pk}:{window}"
    try:
        pipe: Any = redis_client().pipeline()
        pipe.incr(key)
        pipe.expire(key, RATE_WINDOW_SECONDS + 5)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        # Without Redis the pages still work (dials wait for the sweeper); so does the API,
        # unmetered, rather than refusing every client.
        logger.warning("API rate limit not checked: Redis is unavailable")
        return
    limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
    if count > limit:
        retry_after = max(1, int((window + 1) * RATE_WINDOW_SECONDS - now) + 1)
        raise ApiError(
            429,
            "rate_limited",
            f"This token made more than {limit} requests this minute; "
            f"try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
