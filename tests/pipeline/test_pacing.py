"""The account's call pacing in Redis: spacing, returned tokens and 429 bursts."""

from __future__ import annotations

import itertools
import time

import pytest

from conferences.dialing.pacing import THROTTLED_BURST, Pacer

pytestmark = pytest.mark.usefixtures("redis_db")


def test_the_first_call_goes_at_once_and_the_next_waits_one_interval(settings):
    settings.DIAL_PACING_MARGIN = 0.0
    pacer = Pacer("AC" + "1" * 32, calls_per_second=2)
    assert pacer.try_take().taken
    wait = pacer.try_take().wait
    assert 0.4 < wait <= 0.5


def test_accounts_are_paced_separately(settings):
    settings.DIAL_PACING_MARGIN = 0.0
    assert Pacer("AC" + "1" * 32, 1).try_take().taken
    assert Pacer("AC" + "2" * 32, 1).try_take().taken


def test_a_token_given_back_lets_the_next_call_go_now(settings):
    pacer = Pacer("AC" + "3" * 32, calls_per_second=1)
    first = pacer.try_take()
    assert first.taken
    assert pacer.try_take().wait > 0.5
    pacer.give_back(first)
    assert pacer.try_take().taken
    # Only one token came back: the one after waits again.
    assert pacer.try_take().wait > 0.5


def test_a_given_back_token_never_lets_a_second_hold_more_than_cps_calls(settings):
    settings.DIAL_PACING_MARGIN = 0.0
    pacer = Pacer("AC" + "6" * 32, calls_per_second=2, burst=2)
    first, second = pacer.try_take(), pacer.try_take()
    assert first.taken and second.taken
    # Both slots of this second are used; giving back the spacing alone is not enough.
    assert not pacer.try_take().taken
    pacer.give_back(first)
    assert pacer.try_take().taken
    assert not pacer.try_take().taken


def test_scattered_429s_do_not_slow_the_account_but_a_burst_does(settings):
    settings.DIAL_PACING_MARGIN = 0.0
    pacer = Pacer("AC" + "4" * 32, calls_per_second=10)
    outcomes = [False] * 9 + [True]  # 10 % throttled
    assert not any(pacer.record_create(throttled=t) for t in outcomes)
    assert pacer.try_take().taken
    assert pacer.try_take().wait <= 0.1
    burst = Pacer("AC" + "5" * 32, calls_per_second=10)
    slowed = [burst.record_create(throttled=True) for _ in range(THROTTLED_BURST)]
    assert slowed[-1] is True and not any(slowed[:-1])
    assert burst.try_take().taken
    assert 0.1 < burst.try_take().wait <= 0.2  # twice the interval while slowed


def test_a_few_429s_at_the_start_of_a_window_do_not_slow_the_account(settings):
    # 3 of the first 4 creates: a majority, but only what 10 % scattered 429s often give.
    pacer = Pacer("AC" + "7" * 32, calls_per_second=10)
    assert not any(pacer.record_create(throttled=t) for t in (True, True, False, True))


def test_a_slot_reserved_ahead_follows_the_previous_slot_not_the_moment_it_was_taken(settings):
    settings.DIAL_PACING_MARGIN = 0.0
    pacer = Pacer("AC" + "8" * 32, calls_per_second=10)
    waits = [pacer.reserve(max_ahead=1.0) for _ in range(5)]
    assert all(token.taken for token in waits)
    # Each slot one interval after the one before (less the moment between two asks).
    for before, after in itertools.pairwise(waits):
        assert 0.09 < after.wait - before.wait <= 0.1 + 0.005
    assert not pacer.reserve(max_ahead=0.3).taken  # the sixth is 0.5 s off


def test_no_window_ever_holds_more_than_cps_slots_whatever_comes_back(settings):
    settings.DIAL_PACING_MARGIN = 0.0
    pacer = Pacer("AC" + "9" * 32, calls_per_second=4)
    starts: list[float] = []
    for index in range(12):
        token = pacer.reserve(max_ahead=5.0)
        assert token.taken
        if index % 3 == 1:
            pacer.give_back(token)  # refused by Twilio: its slot goes back
        else:
            starts.append(time.monotonic() + token.wait)
    assert len(starts) == 8
    starts.sort()
    for index, first in enumerate(starts):
        # Less a few ms: each start is read on this clock a moment after Redis set it.
        assert sum(1 for t in starts[index:] if t - first < 1.0 - 0.005) <= 4, starts
