"""Calls-per-second pacing per Twilio account, shared by every worker through Redis.

A GCRA token bucket (burst 1 by default) evaluated atomically in Redis with Redis's own
clock, so workers on different machines agree. Twilio queues calls beyond an account's
CPS instead of refusing them; pacing here keeps each call's start predictable.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from django.conf import settings

from conferences.heartbeat import redis_client

# KEYS: [next-free time, slow-until time]; ARGV: [interval s, burst, slow factor].
# Returns 0 when a token was taken, else the seconds to wait (as a string).
_GCRA_TAKE_SCRIPT = """
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
local new_next = math.max(now, next_free) + interval
redis.call('SET', KEYS[1], tostring(new_next), 'PX', math.ceil((new_next - now) * 1000) + 60000)
return '0'
"""

_SLOW_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(now + seconds), 'PX', math.ceil(seconds * 1000))
return 1
"""


@dataclass(frozen=True)
class Pacer:
    account_sid: str
    calls_per_second: float
    burst: int = 1
    slow_factor: float = 2.0

    def _keys(self) -> list[str]:
        prefix = f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:cps:{self.account_sid}"
        return [f"{prefix}:next", f"{prefix}:slow-until"]

    def try_take(self, client: redis.Redis | None = None) -> float:
        """Take a token: 0.0 when taken, else how many seconds until one may be free."""
        client = client or redis_client()
        wait = client.eval(
            _GCRA_TAKE_SCRIPT,
            2,
            *self._keys(),
            (1.0 + settings.DIAL_PACING_MARGIN) / self.calls_per_second,
            self.burst,
            self.slow_factor,
        )
        return float(wait)

    def slow_down(self, seconds: float, client: redis.Redis | None = None) -> None:
        """After a 429, pace this account at a fraction of its rate for a while."""
        (client or redis_client()).eval(_SLOW_DOWN, 1, self._keys()[1], seconds)
