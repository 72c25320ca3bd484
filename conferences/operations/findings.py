"""What a health check found: a level and a sentence a supervisor can act on."""

from __future__ import annotations

from dataclasses import dataclass


class Level:
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    PROBLEM = "problem"


_LEVEL_ORDER = {Level.OK: 0, Level.INFO: 0, Level.WARNING: 1, Level.PROBLEM: 2}


@dataclass(frozen=True)
class Finding:
    """One thing a supervisor should know, in words, and how bad it is."""

    level: str
    text: str


# --- Findings in words (the page and /healthz/detail) ---------------------------------


def _for(seconds: float) -> str:
    """A duration as people say it: 45 s, 12 min, 3 h 5 min."""
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"
