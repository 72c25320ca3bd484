"""The account's call pacing in Redis: spacing, returned tokens and 429 bursts."""

from __future__ import annotations

import pytest

from conferences.pacing import Pacer

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
    slowed = [burst.record_create(throttled=True) for _ in range(4)]
    assert slowed[-1] is True
    assert burst.try_take().taken
    assert 0.1 < burst.try_take().wait <= 0.2  # twice the interval while slowed
