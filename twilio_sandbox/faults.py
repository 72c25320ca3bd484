"""Faults: what the sandbox does wrong on purpose, and the limits it enforces.

JSON shape (POST /_sandbox/faults, `Faults.from_json`); every key is optional:

    {
      "cps": 1.0,                       # calls per second per account; extra calls queue
      "queue_cap_seconds": 86400,       # queue longer than this -> 22005
      "max_concurrent_requests": 4,     # per account; beyond -> 429 / 20429
      "rules": [                        # each rule applies to the requests/callbacks it matches
        {"match": {"to": "+15005550006", "label": "agent", "label_prefix": "agent-"},
         "latency_ms": 0, "jitter_ms": 0,
         "error_rate": 0.0, "error_statuses": [500, 503],
         "hang_after_create_seconds": 0, "hang_rate": 1.0,
         "callback_duplicate_rate": 0.0, "callback_reorder_rate": 0.0,
         "callback_delay_ms": 0, "callback_drop_rate": 0.0,
         "callback_endpoint_down": false,
         "wrong_answer": ""}               # see WRONG_ANSWERS
      ]
    }

Rule keys given at the top level form one more rule (with the top-level "match", if any).
A rule without "match" applies to everything; a rule with one applies only to requests and
callbacks about a participant with that To, that label or a label with that prefix
(requests that name no participant, such as list calls, never match a targeted rule).
Rates are decided by a RNG seeded from the sandbox seed, so a run replays exactly.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from twilio_sandbox import errors

# Answers Twilio should never give, for testing that a client checks what comes back. The
# request itself is carried out as asked (a create still creates its call); only the answer
# is wrong:
#   reused_call_sid   a create answers with the CallSid of the account's first call
#   other_label       a create answers with a label that was not asked for
#   other_conference  a create answers with the SID of a conference that does not exist
#   other_call        fetching a call answers with another call of the account
WRONG_ANSWERS = frozenset({"reused_call_sid", "other_label", "other_conference", "other_call"})


@dataclass(frozen=True)
class FaultMatch:
    to: str | None = None
    label: str | None = None
    label_prefix: str | None = None

    def matches(self, to: str | None, label: str | None) -> bool:
        if self.to is not None and to != self.to:
            return False
        if self.label is not None and label != self.label:
            return False
        return self.label_prefix is None or (
            label is not None and label.startswith(self.label_prefix)
        )


@dataclass(frozen=True)
class FaultRule:
    match: FaultMatch = field(default_factory=FaultMatch)
    latency_ms: int = 0
    jitter_ms: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    hang_after_create_seconds: float = 0.0
    hang_rate: float = 1.0
    callback_duplicate_rate: float = 0.0
    callback_reorder_rate: float = 0.0
    callback_delay_ms: int = 0
    callback_drop_rate: float = 0.0
    callback_endpoint_down: bool = False
    wrong_answer: str = ""

    def is_noop(self) -> bool:
        return self == FaultRule(match=self.match)


RULE_KEYS = frozenset(f.name for f in fields(FaultRule)) - {"match"}
TOP_KEYS = frozenset({"cps", "queue_cap_seconds", "max_concurrent_requests", "rules", "match"})


@dataclass(frozen=True)
class Faults:
    cps: float | None = None
    queue_cap_seconds: float = 86400.0
    max_concurrent_requests: int | None = None
    rules: tuple[FaultRule, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        """Parse the JSON shape above; ValueError says what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("faults must be a JSON object")
        unknown = set(data) - TOP_KEYS - RULE_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        rules = [_rule(item) for item in _list(data.get("rules", []), "rules")]
        top_rule = {key: data[key] for key in RULE_KEYS & set(data)}
        if top_rule:
            rules.append(_rule({**top_rule, "match": data.get("match", {})}))
        cps = _optional_number(data.get("cps"), "cps", minimum=0.001)
        concurrent = data.get("max_concurrent_requests")
        if concurrent is not None and (not isinstance(concurrent, int) or concurrent < 1):
            raise ValueError("max_concurrent_requests must be a positive integer")
        cap = _optional_number(data.get("queue_cap_seconds"), "queue_cap_seconds", minimum=0)
        return cls(
            cps=cps,
            queue_cap_seconds=86400.0 if cap is None else cap,
            max_concurrent_requests=concurrent,
            rules=tuple(rules),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "cps": self.cps,
            "queue_cap_seconds": self.queue_cap_seconds,
            "max_concurrent_requests": self.max_concurrent_requests,
            "rules": [
                {**asdict(rule), "error_statuses": list(rule.error_statuses)} for rule in self.rules
            ],
        }


def _list(value: object, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list")
    return value


def _optional_number(value: object, name: str, *, minimum: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum}")
    return float(value)


def _rule(data: object) -> FaultRule:
    if not isinstance(data, Mapping):
        raise ValueError("each rule must be a JSON object")
    unknown = set(data) - RULE_KEYS - {"match"}
    if unknown:
        raise ValueError(f"unknown rule keys: {', '.join(sorted(unknown))}")
    match = data.get("match") or {}
    if not isinstance(match, Mapping) or set(match) - {"to", "label", "label_prefix"}:
        raise ValueError("match takes only to, label and label_prefix")
    values: dict[str, Any] = {}
    for key in RULE_KEYS & set(data):
        values[key] = _rule_value(key, data[key])
    targets = {key: str(value) for key, value in match.items() if value is not None}
    return FaultRule(match=FaultMatch(**targets), **values)


def _rule_value(key: str, value: object) -> object:
    if key == "wrong_answer":
        if value not in WRONG_ANSWERS | {""}:
            raise ValueError(f"{key} must be one of {', '.join(sorted(WRONG_ANSWERS))}")
        return value
    if key == "callback_endpoint_down":
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    if key == "error_statuses":
        statuses = tuple(_list(value, key))
        # 429 stands for Twilio's "too many concurrent requests" (20429) at a chosen rate.
        if not statuses or any(s not in (429, 500, 502, 503, 504) for s in statuses):
            raise ValueError("error_statuses must list some of 429, 500, 502, 503, 504")
        return statuses
    number = _optional_number(value, key, minimum=0)
    if key.endswith("_rate"):
        if number is None or number > 1:
            raise ValueError(f"{key} must be between 0 and 1")
        return number
    if key in ("latency_ms", "jitter_ms", "callback_delay_ms"):
        return int(number or 0)
    return number or 0.0


@dataclass(frozen=True)
class RequestFaults:
    delay_seconds: float = 0.0
    error_status: int | None = None
    hang_seconds: float = 0.0
    wrong_answer: str = ""


@dataclass(frozen=True)
class CallbackFaults:
    drop: bool = False
    endpoint_down: bool = False
    duplicate: bool = False
    reorder: bool = False
    delay_seconds: float = 0.0


class FaultDecider:
    """Holds the current faults and decides, with a seeded RNG, which ones hit."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(f"{seed}:faults")  # noqa: S311 - simulation, not security

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def replace(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def _matching(self, to: str | None, label: str | None, named: bool) -> Iterable[FaultRule]:
        for rule in self._faults.rules:
            targeted = rule.match != FaultMatch()
            if not targeted or (named and rule.match.matches(to, label)):
                yield rule

    def _hits(self, rate: float) -> bool:
        return rate > 0 and (rate >= 1 or self._rng.random() < rate)

    def for_request(
        self, *, to: str | None, label: str | None, named: bool, creates: bool
    ) -> RequestFaults:
        with self._lock:
            delay_ms = 0.0
            error_status = None
            hang = 0.0
            wrong = ""
            for rule in self._matching(to, label, named):
                wrong = wrong or rule.wrong_answer
                delay_ms += rule.latency_ms + self._rng.uniform(0, rule.jitter_ms)
                if error_status is None and self._hits(rule.error_rate):
                    error_status = self._rng.choice(rule.error_statuses)
                if creates and rule.hang_after_create_seconds and self._hits(rule.hang_rate):
                    hang = max(hang, rule.hang_after_create_seconds)
            return RequestFaults(delay_ms / 1000, error_status, hang, wrong)

    def for_callback(self, *, to: str | None, label: str | None) -> CallbackFaults:
        with self._lock:
            drop = down = duplicate = reorder = False
            delay_ms = 0
            for rule in self._matching(to, label, named=True):
                drop = drop or self._hits(rule.callback_drop_rate)
                down = down or rule.callback_endpoint_down
                duplicate = duplicate or self._hits(rule.callback_duplicate_rate)
                reorder = reorder or self._hits(rule.callback_reorder_rate)
                delay_ms += rule.callback_delay_ms
            return CallbackFaults(drop, down, duplicate, reorder, delay_ms / 1000)


class CallQueue:
    """Twilio's per-account calls-per-second queue: extra calls wait, they are not refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def admit(self, account_sid: str, cps: float | None, cap_seconds: float) -> float:
        """Seconds this call waits before it is placed; raises 22005 past the cap."""
        if cps is None:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(account_sid, now))
            wait = slot - now
            if wait > cap_seconds:
                raise errors.bad_request(
                    errors.CALL_QUEUE_FULL, "Call queue full: more than the cap of queued calls"
                )
            self._next_slot[account_sid] = slot + 1 / cps
            return wait

    def reset(self) -> None:
        with self._lock:
            self._next_slot.clear()


class ConcurrencyGate:
    """Counts API requests in flight per account."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}

    def enter(self, account_sid: str, limit: int | None) -> bool:
        with self._lock:
            current = self._in_flight.get(account_sid, 0)
            if limit is not None and current >= limit:
                return False
            self._in_flight[account_sid] = current + 1
            return True

    def leave(self, account_sid: str) -> None:
        with self._lock:
            self._in_flight[account_sid] = max(0, self._in_flight.get(account_sid, 1) - 1)
