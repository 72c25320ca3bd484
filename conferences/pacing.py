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

# KEYS: [next-free time]; ARGV: [interval s]. A slot whose call was never created goes
# back to the bucket: the next call may start one interval sooner, never in the past.
_GIVE_BACK_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local earlier = math.max(now, next_free - tonumber(ARGV[1]))
if earlier < next_free then
  redis.call('SET', KEYS[1], tostring(earlier), 'PX', 60000)
end
return 1
"""

# KEYS: [attempts, throttled, slow-until]; ARGV: [throttled 0/1, window s, slow s, share].
# Counts creates and 429s in a short window; when 429s pass the share, the bucket slows.
_RECORD_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
local attempts = redis.call('INCR', KEYS[1])
if attempts == 1 then redis.call('EXPIRE', KEYS[1], window) end
local throttled = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[1] == '1' then
  throttled = redis.call('INCR', KEYS[2])
  if throttled == 1 then redis.call('EXPIRE', KEYS[2], window) end
end
if attempts >= 4 and throttled / attempts > tonumber(ARGV[4]) then
  local seconds = tonumber(ARGV[3])
  redis.call('SET', KEYS[3], tostring(now + seconds), 'PX', math.ceil(seconds * 1000))
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Pacer:
    account_sid: str
    calls_per_second: float
    burst: int = 1
    slow_factor: float = 2.0

    def _keys(self) -> list[str]:
        prefix = f"dashboard:{settings.CELERY_TASK_DEFAULT_QUEUE}:cps:{self.account_sid}"
        return [f"{prefix}:next", f"{prefix}:slow-until", f"{prefix}:attempts", f"{prefix}:429s"]

    @property
    def interval(self) -> float:
        return (1.0 + settings.DIAL_PACING_MARGIN) / self.calls_per_second

    def try_take(self, client: redis.Redis | None = None) -> float:
        """Take a token: 0.0 when taken, else how many seconds until one may be free."""
        client = client or redis_client()
        wait = client.eval(
            _GCRA_TAKE_SCRIPT,
            2,
            *self._keys()[:2],
            self.interval,
            self.burst,
            self.slow_factor,
        )
        return float(wait)

    def give_back(self, client: redis.Redis | None = None) -> None:
        """Return a token whose call was never created (a 429, or a create that checks showed
        never happened), so failed attempts don't eat into the account's call rate."""
        (client or redis_client()).eval(_GIVE_BACK_SCRIPT, 1, self._keys()[0], self.interval)

    def record_create(self, *, throttled: bool, client: redis.Redis | None = None) -> bool:
        """Count a create attempt; a burst of 429s (over half of them in a few seconds) slows
        the bucket for a while. True when it did."""
        _, slow_key, attempts_key, throttled_key = self._keys()
        slowed = (client or redis_client()).eval(
            _RECORD_SCRIPT,
            3,
            attempts_key,
            throttled_key,
            slow_key,
            "1" if throttled else "0",
            settings.DIAL_THROTTLE_WINDOW_SECONDS,
            settings.DIAL_THROTTLE_SLOW_SECONDS,
            0.5,
        )
        return bool(slowed)
