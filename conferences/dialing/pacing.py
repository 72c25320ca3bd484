"""Calls-per-second pacing per Twilio account, shared by every worker through Redis.

A GCRA token bucket (burst 1 by default) evaluated atomically in Redis with Redis's own
clock, so workers on different machines agree, plus a log of the calls of the last
1 + DIAL_PACING_MARGIN seconds that never holds more than the account's CPS. Twilio queues
calls beyond an account's CPS instead of refusing them; pacing here keeps each call's
start predictable.

A worker reserves the next slot a moment before it opens and sleeps until it: the slot is
used on time instead of raced for, and the schedule follows the slots, not the moments
workers happened to ask. A slot whose call was never created goes back.

Why calls/s stays below CPS when creates fail: a 429 is known to have made no call only
when its answer comes back, and until then it holds its place in the log; a 5xx may have
made a call, so it keeps its slot for good. The calls that did start never exceed CPS in
any window, and what the failed creates held is lost to the rate.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import redis
from django.conf import settings

from conferences.core.redis_connection import redis_client

# KEYS: [next-free time, slow-until time, call log, credit];
# ARGV: [interval s, burst, slow factor, calls per window (whole), token id, max ahead s,
#        window s].
# Reserves the account's next call slot, which may lie up to `max ahead` in the future: the
# worker then sleeps until it and sends on time, instead of polling for a slot that opens
# between two polls (the time lost that way is lost for good). Two rules, both needed:
# - spacing: slots one interval apart (burst 1). The next slot follows the previous slot,
#   not the moment it was taken, so waiting workers never let the schedule drift; a slot
#   taken a little late (less than an interval) lets the next one come that much sooner.
# - the log: no window of `window` seconds ever holds more than CPS slots, whatever was
#   given back, so the account's CPS holds at Twilio in every second.
# Returns {1, seconds until the slot} when reserved, {0, seconds until one may be}.
_RESERVE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local per_window = tonumber(ARGV[4])
local max_ahead = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
if now < tonumber(redis.call('GET', KEYS[2]) or '0') then
  interval = interval * tonumber(ARGV[3])
end
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, next_free - (burst - 1) * interval)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
-- Slots are handed out in time order, so only the window that ends at `at` can overflow.
if redis.call('ZCOUNT', KEYS[3], '(' .. tostring(at - window), '+inf') >= per_window then
  local kth = redis.call('ZREVRANGE', KEYS[3], per_window - 1, per_window - 1, 'WITHSCORES')
  at = math.max(at, tonumber(kth[2]) + window)
end
if at - now > max_ahead then
  return {0, tostring(at - now)}
end
local credit = tonumber(redis.call('GET', KEYS[4]) or '0')
local late = at - next_free
local step = interval
if late > 0 and late < interval then
  -- Taken late while a backlog waits: catch up (by at most half an interval per slot).
  step = step - math.min(late, interval / 2)
elseif credit > 0 then
  -- Slots given back: come sooner, half an interval at most per slot, until repaid.
  local used = math.min(credit, interval / 2)
  step = step - used
  redis.call('SET', KEYS[4], tostring(credit - used), 'KEEPTTL')
end
local new_next = math.max(at, next_free) + step
redis.call('SET', KEYS[1], tostring(new_next), 'PX', math.ceil((new_next - now) * 1000) + 60000)
redis.call('ZADD', KEYS[3], at, ARGV[5])
redis.call('PEXPIRE', KEYS[3], math.ceil((at - now + window) * 1000) + 1000)
return {1, tostring(at - now)}
"""

# KEYS: [next-free time, call log, credit]; ARGV: [interval s, token id, window s].
# A slot whose call was never created goes back, if its window is still open (a slot
# older than the window has no second left to give): out of the log, and the schedule
# moves one interval sooner. Never into the past, and never closer than half an interval
# to a slot already reserved; what cannot be moved now is kept as credit that brings the
# next slots sooner (see above) while the given-back slot's window lasts.
_GIVE_BACK_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local slot = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not slot or tonumber(slot) <= now - window then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = math.max(now, next_free - interval)
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local floor = now
if last[2] then floor = math.max(now, tonumber(last[2]) + interval / 2) end
local earlier = math.max(wanted, floor)
if earlier < next_free then
  redis.call('SET', KEYS[1], tostring(earlier), 'PX', math.ceil((earlier - now) * 1000) + 60000)
end
if earlier > wanted then
  local credit = tonumber(redis.call('GET', KEYS[3]) or '0') + (earlier - wanted)
  redis.call('SET', KEYS[3], tostring(math.min(credit, 2 * interval)), 'PX',
    math.ceil((tonumber(slot) + window - now) * 1000))
end
return 1
"""

# KEYS: [window counts, slow-until]; ARGV: [throttled 0/1, window s, slow s, share, least].
# Counts creates and 429s in one window (one hash, one expiry, so the two counts always
# cover the same seconds); when 429s pass the share, the bucket slows for a while. It
# takes at least `least` 429s: scattered ones (a few percent) often make a majority of the
# first three or four creates of a window, and would halve the account's rate for nothing.
_RECORD_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
local throttled = tonumber(redis.call('HGET', KEYS[1], 'throttled') or '0')
if ARGV[1] == '1' then
  throttled = redis.call('HINCRBY', KEYS[1], 'throttled', 1)
end
if throttled >= tonumber(ARGV[5]) and throttled / attempts > tonumber(ARGV[4]) then
  local seconds = tonumber(ARGV[3])
  redis.call('SET', KEYS[2], tostring(now + seconds), 'PX', math.ceil(seconds * 1000))
  return 1
end
return 0
"""


# 429s within one throttle window that make a burst (if also over half the creates).
THROTTLED_BURST = 5


@dataclass(frozen=True)
class Token:
    token_id: str  # empty when none was taken
    # Taken: seconds from now until the slot starts (0.0 for a slot that is open now).
    # Not taken: seconds until a slot may be reserved.
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
            f"{prefix}:call-log",
            f"{prefix}:credit",
        ]

    @property
    def window(self) -> float:
        """The log's window: one second, widened by the margin that absorbs the jitter
        between a slot and the moment its request reaches Twilio."""
        return 1.0 + settings.DIAL_PACING_MARGIN

    @property
    def interval(self) -> float:
        return self.window / self.calls_per_second

    def reserve(self, max_ahead: float, client: redis.Redis | None = None) -> Token:
        """Reserve the next call slot if it starts within `max_ahead` seconds; the caller
        sleeps `wait` seconds and then sends (or gives the slot back)."""
        token_id = uuid.uuid4().hex
        next_key, slow_key, _, log_key, credit_key = self._keys()
        taken, wait = (client or redis_client()).eval(
            _RESERVE_SCRIPT,
            4,
            next_key,
            slow_key,
            log_key,
            credit_key,
            self.interval,
            self.burst,
            self.slow_factor,
            max(1, math.floor(self.calls_per_second)),
            token_id,
            max(0.0, max_ahead),
            self.window,
        )
        return Token(token_id if int(taken) else "", max(0.0, float(wait)))

    def try_take(self, client: redis.Redis | None = None) -> Token:
        """Take a slot that is open now: `wait` is 0.0 when taken, else how many seconds until
        one may be."""
        return self.reserve(0.0, client)

    def give_back(self, token: Token, client: redis.Redis | None = None) -> bool:
        """Return a slot whose call was never created (Twilio refused the create before acting,
        the request never left, or the checks showed it never happened), so failed attempts
        don't eat into the account's call rate. False when its window had already passed."""
        if not token.taken:
            return False
        next_key, _, _, log_key, credit_key = self._keys()
        returned = (client or redis_client()).eval(
            _GIVE_BACK_SCRIPT,
            3,
            next_key,
            log_key,
            credit_key,
            self.interval,
            token.token_id,
            self.window,
        )
        return bool(returned)

    def record_create(self, *, throttled: bool, client: redis.Redis | None = None) -> bool:
        """Count a create attempt; a burst of 429s (at least THROTTLED_BURST, and over half
        the creates of a few seconds) slows the bucket for a while. True when it did."""
        _, slow_key, window_key, _, _ = self._keys()
        slowed = (client or redis_client()).eval(
            _RECORD_SCRIPT,
            2,
            window_key,
            slow_key,
            "1" if throttled else "0",
            settings.DIAL_THROTTLE_WINDOW_SECONDS,
            settings.DIAL_THROTTLE_SLOW_SECONDS,
            0.5,
            THROTTLED_BURST,
        )
        return bool(slowed)
