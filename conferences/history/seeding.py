"""Synthetic call history for measuring the history pages at scale (issue 10).

Rows are generated inside PostgreSQL (`INSERT … SELECT … FROM generate_series`), a batch
per transaction: a million dials and their callbacks take minutes, not an hour of Python
building tuples. Everything seeded is namespaced: operators `seed-operator-NN`,
conferences `seed-conference-NNNNNNN`, dial labels `seed-N`. Seeding is a top-up: it makes
sure `dials` seeded dials exist, so a second run with the same count does nothing and a
larger count adds only the difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from conferences.accounts import role_groups, roles, twilio_accounts
from conferences.models import DialRequest, User

SEED_LABEL_PREFIX = "seed-"
SEED_CONFERENCE_PREFIX = "seed-conference-"
SEED_OPERATOR_PREFIX = "seed-operator-"
DIALS_PER_CONFERENCE = 40
BATCH_DIALS = 50_000
DEFAULT_OPERATORS = 20
DEFAULT_DAYS = 365
# Twilio errors a failed dial carries, in rough order of how often call centres meet them.
SEED_ERROR_CODES = [21211, 21214, 21215, 13224, 16030, 21217, 21216, 20429]


@dataclass(frozen=True)
class SeedReport:
    """What one seeding run did."""

    existing: int
    added: int
    events_added: int
    seconds: float


def seeded_dial_count() -> int:
    """How many seeded dials exist (the labels namespace is the run marker)."""
    return DialRequest.objects.filter(label__startswith=SEED_LABEL_PREFIX).count()


def seed_operators(count: int) -> list[int]:
    """The seeded operators' ids, creating the missing ones (no password: they never sign in)."""
    role_groups.sync_role_groups()
    group = Group.objects.get(name=roles.OPERATOR)
    ids = []
    for index in range(count):
        user, created = User.objects.get_or_create(
            username=f"{SEED_OPERATOR_PREFIX}{index:02d}", defaults={"time_zone": "UTC"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(group)
        ids.append(user.pk)
    return ids


_CONFERENCES_SQL = """
INSERT INTO conferences_conference
    (account_id, friendly_name, sid, status, created_at, started_at, ended_at,
     reason_ended, call_sid_ending)
SELECT %(account)s, name, 'CF' || md5(name), 'completed', started, started,
       started + interval '50 minutes', 'conference-ended-via-api', ''
FROM (
    SELECT %(prefix)s || lpad(c::text, 7, '0') AS name,
           %(now)s::timestamptz - %(days)s * interval '1 day' * ((c * 0.6180339887) %% 1)
               AS started
    FROM generate_series(%(first)s, %(last)s) AS c
) AS planned
ON CONFLICT (account_id, sid) DO NOTHING
"""

# Outcome shares: completed 60 %, no answer 15 %, busy 9 %, failed 8 %, canceled 8 %.
# Of the completed, 30 % went through machine detection; 20 % were recorded.
_DIALS_SQL = """
WITH drawn AS (
    SELECT n, random() AS r_outcome, random() AS r_amd, random() AS r_rec,
           3 + floor(random() * 22)::int AS ring_s,
           greatest(5, floor(-ln(1 - random()) * 240))::int AS talk_s,
           1 + floor(random() * %(operators)s)::int AS op,
           1 + floor(random() * %(errors)s)::int AS err,
           CASE WHEN random() < 0.9
                THEN '+1' || (2012000000 + floor(random() * 7987999999)::bigint)::text
                ELSE '+44' || (7400000000 + floor(random() * 599999999)::bigint)::text
           END AS to_number
    FROM generate_series(%(first)s, %(last)s) AS n
), shaped AS (
    SELECT d.*, c.id AS conference_id,
           c.started_at + (n %% %(per_conference)s) * interval '7 seconds' AS created,
           CASE WHEN r_outcome < 0.60 THEN 'completed'
                WHEN r_outcome < 0.75 THEN 'no-answer'
                WHEN r_outcome < 0.84 THEN 'busy'
                WHEN r_outcome < 0.92 THEN 'failed'
                ELSE 'canceled' END AS status
    FROM drawn d
    JOIN conferences_conference c
      ON c.account_id = %(account)s
     AND c.sid = 'CF' || md5(%(conference_prefix)s
                             || lpad((d.n / %(per_conference)s)::text, 7, '0'))
), timed AS (
    SELECT s.*,
           CASE WHEN status = 'completed' AND r_amd < 0.30 THEN
                CASE WHEN r_amd < 0.21 THEN 'human'
                     WHEN r_amd < 0.25 THEN 'machine_start'
                     WHEN r_amd < 0.28 THEN 'machine_end_beep'
                     WHEN r_amd < 0.29 THEN 'unknown'
                     ELSE 'fax' END
                ELSE '' END AS answered_by,
           CASE WHEN status = 'completed'
                THEN created + ring_s * interval '1 second' END AS answered,
           CASE WHEN status = 'completed'
                THEN created + (ring_s + talk_s + 1) * interval '1 second'
                ELSE created + (ring_s + 1) * interval '1 second' END AS ended
    FROM shaped s
)
INSERT INTO conferences_dialrequest
    (account_id, conference_id, operator_id, created_at, status, to_number, from_number,
     label, params, relay_targets, sip_auth_password_encrypted, attempts, first_attempt_at,
     placed_at, placed_by_check, needs_verification, failure_reason, call_sid,
     participant_status, queue_time_ms, error_code, error_message, error_more_info,
     answered_by, answered_at, joined_at, left_at, ended_at, call_duration_seconds,
     end_reason, sip_response_code, muted, hold, coaching, recording_sid,
     recording_duration_seconds, updated_at)
SELECT %(account)s, conference_id, (%(operator_ids)s::int[])[op], created, status, to_number,
       '+1415555' || lpad((op * 37 %% 10000)::text, 4, '0'),
       %(label_prefix)s || n,
       jsonb_build_object('To', to_number, 'Label', %(label_prefix)s || n,
                          'StatusCallbackEvent', 'initiated ringing answered completed'),
       '{}'::jsonb, '', 1, created, created + interval '300 milliseconds', 'fresh', false,
       CASE WHEN status = 'failed' THEN 'Twilio refused the call' ELSE '' END,
       'CA' || md5('seed-call-' || n),
       CASE WHEN status = 'completed' THEN 'completed' ELSE '' END,
       40 + (n %% 200),
       CASE WHEN status = 'failed' THEN (%(error_codes)s::int[])[err] END,
       '', '', answered_by, answered,
       answered + interval '1 second',
       CASE WHEN status = 'completed' THEN ended - interval '1 second' END,
       ended,
       CASE WHEN status = 'completed' THEN talk_s + 1 ELSE 0 END,
       CASE WHEN status = 'completed' THEN 'participant_hung_up'
            WHEN status = 'failed' THEN 'participant_add_failed'
            ELSE status END,
       CASE WHEN status = 'busy' THEN 486 WHEN status = 'no-answer' THEN 480 END,
       CASE WHEN status = 'completed' THEN false END,
       CASE WHEN status = 'completed' THEN false END,
       CASE WHEN status = 'completed' THEN false END,
       CASE WHEN status = 'completed' AND r_rec < 0.20 THEN 'RE' || md5('seed-rec-' || n)
            ELSE '' END,
       CASE WHEN status = 'completed' AND r_rec < 0.20 THEN talk_s END,
       ended
FROM timed
"""

# Four to eight callbacks per dial: initiated, ringing and the final status for every
# call; unanswered calls add queued (as when StatusCallbackEvent asks for it), answered ones
# in-progress, the conference join and leave, and AMD and recording callbacks if they ran.
_EVENTS_SQL = """
INSERT INTO callbackevent_target
SELECT e.kind, d.id, CASE WHEN e.kind = 'conference' THEN d.conference_id END,
       %(account_sid)s, d.call_sid,
       CASE WHEN e.kind = 'conference' THEN c.sid ELSE '' END,
       e.event, e.seq, e.at, e.at + interval '120 milliseconds',
       jsonb_build_object('CallSid', d.call_sid, 'AccountSid', %(account_sid)s,
                          e.param, e.event, 'Timestamp', to_char(e.at, 'YYYY-MM-DD HH24:MI:SS')),
       'seed:' || d.id || ':' || e.kind || ':' || e.event,
       e.at + interval '150 milliseconds', false, d.id, false
FROM conferences_dialrequest d
JOIN conferences_conference c ON c.id = d.conference_id
CROSS JOIN LATERAL (VALUES
    ('call-status', 'CallStatus', 'queued', NULL::int, d.created_at + interval '400 ms',
        d.answered_at IS NULL),
    ('call-status', 'CallStatus', 'initiated', NULL, d.created_at + interval '900 ms', true),
    ('call-status', 'CallStatus', 'ringing', NULL, d.created_at + interval '2 seconds', true),
    ('call-status', 'CallStatus', 'in-progress', NULL, d.answered_at, d.answered_at IS NOT NULL),
    ('conference', 'StatusCallbackEvent', 'participant-join', 1, d.joined_at,
        d.joined_at IS NOT NULL),
    ('amd', 'AnsweredBy', d.answered_by, NULL, d.answered_at + interval '3 seconds',
        d.answered_by <> ''),
    ('conference', 'StatusCallbackEvent', 'participant-leave', 2, d.left_at,
        d.left_at IS NOT NULL),
    ('recording', 'RecordingStatus', 'completed', NULL, d.ended_at + interval '2 seconds',
        d.recording_sid <> ''),
    ('call-status', 'CallStatus', d.status, NULL, d.ended_at, true)
) AS e(kind, param, event, seq, at, happened)
WHERE d.id > %(after_id)s AND d.label LIKE %(label_like)s AND e.happened
""".replace(
    "callbackevent_target",
    "conferences_callbackevent (kind, dial_id, conference_id, account_sid, call_sid, "
    "conference_sid, event, sequence_number, twilio_timestamp, received_at, params, "
    "dedupe_key, applied_at, unknown_value, dial_id_in_url, orphaned)",
)


def seed_history(
    dials: int,
    *,
    operators: int = DEFAULT_OPERATORS,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Make sure `dials` seeded dials (with their callbacks) exist; add only the missing."""
    if connection.vendor != "postgresql":
        raise RuntimeError("seeding history needs PostgreSQL (it generates rows in SQL)")
    started = time.monotonic()
    existing = seeded_dial_count()
    if existing >= dials:
        return SeedReport(existing, 0, 0, time.monotonic() - started)
    account = twilio_accounts.default_account()
    operator_ids = seed_operators(operators)
    # One fixed "now" per database keeps a top-up's conferences on the same calendar.
    moment = now or timezone.now()
    events_added = 0
    for first in range(existing, dials, BATCH_DIALS):
        last = min(first + BATCH_DIALS, dials) - 1
        events_added += _seed_batch(
            first, last, account.pk, account.account_sid, operator_ids, days, moment
        )
        if progress:
            progress(f"{last + 1:,} of {dials:,} dials ({time.monotonic() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conferences_dialrequest")
        cursor.execute("ANALYZE conferences_conference")
        cursor.execute("ANALYZE conferences_callbackevent")
    return SeedReport(existing, dials - existing, events_added, time.monotonic() - started)


def _seed_batch(
    first: int,
    last: int,
    account_id: int,
    account_sid: str,
    operator_ids: list[int],
    days: int,
    now: datetime,
) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CONFERENCES_SQL,
            {
                "account": account_id,
                "prefix": SEED_CONFERENCE_PREFIX,
                "now": now,
                "days": days,
                "first": first // DIALS_PER_CONFERENCE,
                "last": last // DIALS_PER_CONFERENCE,
            },
        )
        cursor.execute("SELECT coalesce(max(id), 0) FROM conferences_dialrequest")
        after_id = cursor.fetchone()[0]
        cursor.execute(
            _DIALS_SQL,
            {
                "account": account_id,
                "first": first,
                "last": last,
                "operators": len(operator_ids),
                "operator_ids": operator_ids,
                "errors": len(SEED_ERROR_CODES),
                "error_codes": SEED_ERROR_CODES,
                "per_conference": DIALS_PER_CONFERENCE,
                "conference_prefix": SEED_CONFERENCE_PREFIX,
                "label_prefix": SEED_LABEL_PREFIX,
            },
        )
        cursor.execute(
            _EVENTS_SQL,
            {
                "account_sid": account_sid,
                "after_id": after_id,
                "label_like": SEED_LABEL_PREFIX + "%",
            },
        )
        return int(cursor.rowcount)


# --- The filter mixes the history must keep fast ----------------------------------------


def filter_mixes(now: datetime | None = None) -> dict[str, dict[str, str]]:
    """The named filter mixes (URL parameters of the history list) measured and EXPLAINed.

    Values come from the seeded data, so each mix selects real rows.
    """
    moment = now or timezone.now()
    sample = (
        DialRequest.objects.filter(label__startswith=SEED_LABEL_PREFIX)
        .select_related("conference")
        .order_by("-created_at")
        .first()
    )
    if sample is None:
        raise RuntimeError("seed some history first")
    window_end = moment.date() - timedelta(days=10)
    window_start = window_end - timedelta(days=30)
    return {
        "default view": {},
        "one conference": {"conference": sample.conference.friendly_name},
        "one operator + status": {"operator": str(sample.operator_id), "status": "completed"},
        "number search": {"number": sample.to_number[-7:-2]},
        "date range + error code": {
            "from": window_start.isoformat(),
            "to": window_end.isoformat(),
            "error_code": str(SEED_ERROR_CODES[0]),
        },
    }
