"""Wall-clock formatting and the sandbox's accelerated call clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc2822(moment: datetime) -> str:
    """Format as Twilio does: `Fri, 18 Feb 2011 21:07:19 +0000`."""
    return format_datetime(moment.astimezone(UTC))


class SimClock:
    """Call time runs `speed` times faster than real time.

    Ring times, talk times and durations are planned in simulated seconds (the numbers a
    real call would show); the scheduler waits `sim / speed` real seconds. Reported
    durations are simulated seconds, while timestamps stay real UTC wall-clock times.
    """

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin = time.monotonic()

    def real_delay(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.speed

    def sim_now(self) -> float:
        return (time.monotonic() - self._origin) * self.speed
