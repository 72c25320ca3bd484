"""Calls-per-second pacing per Twilio account, shared by every worker through Redis.

A GCRA token bucket (burst 1 by default) evaluated atomically in Redis with Redis's own
clock, so workers on different machines agree. Twilio queues calls beyond an account's
CPS instead of refusing them; pacing here keeps each call's start predictable.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis
from django.conf import settings

from conferences.heartbeat import redis_client

# KEYS: [next-free time, slow-until time, one-second log];
# ARGV: [interval s, burst, slow factor, calls per second (whole), token id].
# Two rules, both needed: calls are spaced one interval apart (burst 1), and the log of
# the last second's calls never holds more than the account's CPS, so a token given back
# (its call was never created) can never put more than CPS calls into any second.
# Returns '0' when the token was taken, else the seconds to wait (as a string).
_TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
if now < tonumber(redis.call('GET', KEYS[2]) or '0') then
  interval = interval * tonumber(ARGV[3])
end
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local allow_at = next_free - (burst - 1) * interval
if now < allow_at then
  return tostring(allow_at - now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 1)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return tostring(math.max(0.001, tonumber(oldest[2]) + 1 - now))
end
local new_next = math.max(now, next_free) + interval
redis.call('SET', KEYS[1], tostring(new_next), 'PX', math.ceil((new_next - now) * 1000) + 60000)
redis.call('ZADD', KEYS[3], now, ARGV[5])
redis.call('PEXPIRE', KEYS[3], 2000)
return '0'
"""

# KEYS: [next-free time, one-second log]; ARGV: [interval s, token id]. A token whose call
# was never created goes back: out of the log, and the next call may start one interval
# sooner (never in the past).
_GIVE_BACK_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREM', KEYS[2], ARGV[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local earlier = math.max(now, next_free - tonumber(ARGV[1]))
if earlier < next_free then
  redis.call('SET', KEYS[1], tostring(earlier), 'PX', 60000)
end
return 1
"""

# KEYS: [window counts, slow-until]; ARGV: [throttled 0/1, window s, slow s, share].
# Counts creates and 429s in one window (one hash, one expiry, so the two counts always
# cover the same seconds); when 429s pass the share, the bucket slows for a while.
_RECORD_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
local throttled = tonumber(redis.call('HGET', KEYS[1], 'throttled') or '0')
if ARGV[1] == '1' then
  throttled = redis.call('HINCRBY', KEYS[1], 'throttled', 1)
end
if attempts >= 4 and throttled / attempts > tonumber(ARGV[4]) then
  local seconds = tonumber(ARGV[3])
  redis.call('SET', KEYS[2], tostring(now + seconds), 'PX', math.ceil(seconds * 1000))
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Token:
    token_id: str  # empty when none was taken
    wait: float

    @property
    def taken(self) -> bool:
        return bool(self.token_id)


@dataclass(frozen=True)
class Pacer:
    account_sid: str
    calls_per_second: float
    burst: int = 1
    slow_factor: float = 2.0

    def _keys(self) -> list[str]:
        prefix = f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:cps:{self.account_sid}"
        return [
            f"{prefix}:next",
            f"{prefix}:slow-until",
            f"{prefix}:create-window",
            f"{prefix}:last-second",
        ]

    @property
    def interval(self) -> float:
        return (1.0 + settings.DIAL_PACING_MARGIN) / self.calls_per_second

    def try_take(self, client: redis.Redis | None = None) -> Token:
        """Take a token: `wait` is 0.0 when taken, else how many seconds until one may be."""
        token_id = uuid.uuid4().hex
        next_key, slow_key, _, log_key = self._keys()
        wait = (client or redis_client()).eval(
            _TAKE_SCRIPT,
            3,
            next_key,
            slow_key,
            log_key,
            self.interval,
            self.burst,
            self.slow_factor,
            max(1, math.floor(self.calls_per_second)),
            token_id,
        )
        return Token(token_id if float(wait) <= 0 else "", float(wait))

    def give_back(self, token: Token, client: redis.Redis | None = None) -> None:
        """Return a token whose call was never created (Twilio refused the create), so failed
        attempts don't eat into the account's call rate."""
        if not token.taken:
            return
        next_key, _, _, log_key = self._keys()
        (client or redis_client()).eval(
            _GIVE_BACK_SCRIPT, 2, next_key, log_key, self.interval, token.token_id
        )

    def record_create(self, *, throttled: bool, client: redis.Redis | None = None) -> bool:
        """Count a create attempt; a burst of 429s (over half of them in a few seconds) slows
        the bucket for a while. True when it did."""
        _, slow_key, window_key, _ = self._keys()
        slowed = (client or redis_client()).eval(
            _RECORD_SCRIPT,
            2,
            window_key,
            slow_key,
            "1" if throttled else "0",
            settings.DIAL_THROTTLE_WINDOW_SECONDS,
            settings.DIAL_THROTTLE_SLOW_SECONDS,
            0.5,
        )
        return bool(slowed)
