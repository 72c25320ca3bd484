"""Waiting for something another thread or process does: poll with a deadline, never a
fixed sleep (a sleep is too short on a slow machine and wasted time on a fast one)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# Generous enough for real Celery workers and the sandbox's calls; a test that expects
# something quicker (the in-process sandbox) passes its own, shorter timeout.
DEFAULT_TIMEOUT = 30.0
DEFAULT_INTERVAL = 0.05


# Returns Any, not the condition's type: the value returned is truthy, which a type cannot
# say (a condition typed `Conference | None` or `list | Literal[False]` returns the former).
def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
) -> Any:
    """Poll `condition()` until it returns something truthy, and return that value.

    The condition is checked at least once (even with a zero timeout) and once more at the
    deadline, so a slow poll never loses the last chance. At the deadline this raises
    AssertionError naming the condition and its last value, which is usually the clue.
    """
    deadline = time.monotonic() + timeout
    checks = 0
    while True:
        value = condition()
        checks += 1
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"condition {_describe(condition)} not met within {timeout}s "
                f"({checks} checks); last value: {value!r}"
            )
        # Never sleep past the deadline: the final check happens on time.
        time.sleep(min(interval, remaining))


def _describe(condition: Callable[[], object]) -> str:
    """`<lambda> at tests/…/test_x.py:42`: a lambda's name alone says nothing."""
    name = getattr(condition, "__qualname__", None) or repr(condition)
    code = getattr(condition, "__code__", None)
    if code is None:
        return name
    return f"{name} at {code.co_filename}:{code.co_firstlineno}"
