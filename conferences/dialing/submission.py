"""Submitting a dial: turn the form's values into Create Participant's wire parameters, store
the dial and its conference, and enqueue its placement once the transaction commits."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction

from conferences.accounts import conference_access, twilio_accounts
from conferences.callbacks.addresses import CALLBACK_PARAMETERS, callback_url
from conferences.core import crypto
from conferences.core.sids import is_conference_sid
from conferences.dialing import queueing
from conferences.models import (
    UNIQUE_LABEL_CONSTRAINT,
    Conference,
    ConferenceStatus,
    DialRequest,
    TwilioAccount,
    User,
)
from conferences.schema.callback_events import BY_URL_PARAMETER

logger = logging.getLogger(__name__)


RECORDING_ON_VALUES = {"true", "record-from-start"}


class LabelInUse(Exception):
    """The operator's label is already used by another dial in this conference; the
    suggestion is the first numbered label still free there (bob-2, bob-3, …)."""

    def __init__(self, label: str, suggestion: str) -> None:
        super().__init__(f"the label {label!r} is already used in this conference")
        self.label = label
        self.suggestion = suggestion


# Every dial has a unique Label (the exactly-once checks look for it); one the operator
# left empty is made up, and is no name to show a person.
GENERATED_LABEL = re.compile(r"dial-[0-9a-f]{12}")
# The "-2" a redial adds (bob, bob-2, bob-3): redialing bob-2 makes bob-3, not bob-2-2.
NUMBERED_SUFFIX = re.compile(r"-[0-9]+$")


def generated_label() -> str:
    return f"dial-{uuid.uuid4().hex[:12]}"


def chosen_label(label: str) -> str:
    """The label as a name for people: "" when the app made it up."""
    return "" if GENERATED_LABEL.fullmatch(label) else label


def redial_label(label: str, taken: Collection[str]) -> str:
    """A free label for dialing this caller again: bob → bob-2, bob-2 → bob-3."""
    base = NUMBERED_SUFFIX.sub("", label) or label
    return free_label(base, taken)


def numbered_label(base: str, number: int) -> str:
    """The label of a caller's n-th dial into one conference: bob, bob-2, bob-3, …"""
    return base if number <= 1 else f"{base}-{number}"


def free_label(base: str, taken: Collection[str], *, start: int = 2) -> str:
    """The first numbered label from `start` on that is not taken."""
    number = start
    while numbered_label(base, number) in taken:
        number += 1
    return numbered_label(base, number)


def labels_in_use(conference: Conference) -> set[str]:
    """Labels of every dial into this conference (the unique constraint's set)."""
    return set(DialRequest.objects.filter(conference=conference).values_list("label", flat=True))


class ConferenceRefused(Exception):
    """The conference exists and is run by someone else: the user may not dial into it."""


@dataclass(frozen=True)
class DialSubmission:
    """What an operator asked for: the conference and the Create Participant body."""

    conference: str
    params: Mapping[str, str | Sequence[str]]
    sip_auth_password: str = field(default="", repr=False)


def _hold_the_name(account: TwilioAccount, name: str) -> None:
    """Serialise the choice of a conference by name (until the transaction ends): two
    users naming a new conference at once must not both create it, nor both own it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"conference-name:{account.pk}:{name}"],
        )


def conference_for(account: TwilioAccount, name_or_sid: str, user: User) -> Conference:
    """The conference with this SID, or the open one with this friendly name, or a new one
    that the user owns; ConferenceRefused when it exists and the user may not use it.
    Call inside a transaction."""
    if is_conference_sid(name_or_sid):
        found = Conference.objects.filter(account=account, sid=name_or_sid).first()
        if found is None:
            return Conference.objects.create(
                account=account, sid=name_or_sid, friendly_name=name_or_sid, created_by=user
            )
    else:
        _hold_the_name(account, name_or_sid)
        found = (
            Conference.objects.filter(account=account, friendly_name=name_or_sid)
            .exclude(status=ConferenceStatus.COMPLETED)
            .order_by("-created_at")
            .first()
        )
        if found is None:
            return Conference.objects.create(
                account=account, friendly_name=name_or_sid, created_by=user
            )
    if not conference_access.may_use(user, found):
        raise ConferenceRefused(conference_access.refusal(found))
    return found


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [item for entry in value for item in str(entry).split()]


def wire_params(
    dial_id: int, operator_params: Mapping[str, str | Sequence[str]]
) -> tuple[dict[str, str | list[str]], dict[str, dict[str, object]]]:
    """The body we send: the operator's parameters with our own callback URLs in place.

    Where the operator named their own callback URL, it becomes a relay target that
    receives exactly the events they asked for, with their method.
    """
    params: dict[str, str | list[str]] = {
        name: (list(value) if not isinstance(value, str) else value)
        for name, value in operator_params.items()
    }
    relay_targets: dict[str, dict[str, object]] = {}
    recording_on = params.get("Record") == "true"
    conference_recording_on = params.get("ConferenceRecord") in RECORDING_ON_VALUES
    wanted = {
        "StatusCallback": True,
        "ConferenceStatusCallback": True,
        "RecordingStatusCallback": recording_on,
        "ConferenceRecordingStatusCallback": conference_recording_on,
        "AmdStatusCallback": bool(params.get("MachineDetection")),
    }
    for url_param, kind in CALLBACK_PARAMETERS.items():
        callback = BY_URL_PARAMETER[url_param]
        event_param = callback.events_parameter
        operator_url = params.pop(url_param, None)
        operator_method = params.pop(callback.method_parameter, None)
        operator_events = _as_list(params.pop(event_param, None)) if event_param else []
        if operator_url:
            relay_targets[kind] = {
                "url": operator_url,
                "method": str(operator_method or "POST").upper(),
                "events": operator_events or list(callback.twilio_default),
            }
        if not wanted[url_param]:
            continue
        params[url_param] = callback_url(kind, dial_id)
        params[callback.method_parameter] = "POST"
        if event_param:
            params[event_param] = callback.requested(operator_events)
    return params, relay_targets


def submit_dial(
    *, operator: User, submission: DialSubmission, account: TwilioAccount | None = None
) -> DialRequest:
    """Store a dial request and hand it to a worker once the transaction commits."""
    account = account or twilio_accounts.default_account()
    operator_params = dict(submission.params)
    label = str(operator_params.get("Label") or generated_label())
    operator_params["Label"] = label
    with transaction.atomic():
        conference = conference_for(account, submission.conference.strip(), operator)
        try:
            # A savepoint of its own: a label taken meanwhile (another request between
            # anyone's check and this insert) leaves the transaction usable to say so.
            with transaction.atomic():
                dial = DialRequest.objects.create(
                    account=account,
                    conference=conference,
                    operator=operator,
                    to_number=str(operator_params.get("To", "")),
                    from_number=str(operator_params.get("From", "")),
                    label=label,
                    sip_auth_password_encrypted=crypto.encrypt(submission.sip_auth_password),
                )
        except IntegrityError as error:
            if UNIQUE_LABEL_CONSTRAINT not in str(error):
                raise
            raise LabelInUse(label, free_label(label, labels_in_use(conference))) from error
        dial.params, dial.relay_targets = wire_params(dial.pk, operator_params)
        dial.save(update_fields=["params", "relay_targets"])
        transaction.on_commit(lambda: queueing.enqueue_place_dial(dial.pk))
    logger.info("dial %s stored for %s in %s", dial.pk, operator, conference)
    return dial
