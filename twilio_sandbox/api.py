"""The Twilio REST API v2010 resources the sandbox serves, independent of HTTP plumbing.

`route()` turns a path into a `Route`; `Api.handle()` answers it with a status and a JSON
body, raising `ApiError` for Twilio's error answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from twilio_sandbox import errors, paging, resources
from twilio_sandbox.faults import CallQueue, Faults
from twilio_sandbox.magic import rejection_for
from twilio_sandbox.player import Player
from twilio_sandbox.sids import CALL_SID, CONFERENCE_SID, new_sid
from twilio_sandbox.state import Call, Conference, ConferenceStatus, Participant, Store
from twilio_sandbox.validation import (
    CALL_STATUSES,
    CONFERENCE_STATUSES,
    FormParams,
    FormReader,
    parse_call_update,
    parse_conference_update,
    parse_page,
    parse_participant_create,
    parse_participant_update,
    parse_time_bounds,
)

ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("conferences", r"^/Conferences(?:\.json)?$"),
        ("conference", r"^/Conferences/(?P<conference>[^/]+?)(?:\.json)?$"),
        ("participants", r"^/Conferences/(?P<conference>[^/]+)/Participants(?:\.json)?$"),
        (
            "participant",
            r"^/Conferences/(?P<conference>[^/]+)/Participants/(?P<participant>[^/]+?)(?:\.json)?$",
        ),
        ("calls", r"^/Calls(?:\.json)?$"),
        ("call", r"^/Calls/(?P<call>[^/]+?)(?:\.json)?$"),
    )
)
ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+?)(?:\.json)?(?P<rest>/.*)?$")
ALLOWED_METHODS = {
    "conferences": ("GET",),
    "conference": ("GET", "POST"),
    "participants": ("GET", "POST"),
    "participant": ("GET", "POST", "DELETE"),
    "calls": ("GET",),
    "call": ("GET", "POST"),
}


@dataclass(frozen=True)
class Route:
    name: str
    account_sid: str
    path: str
    conference: str | None = None
    participant: str | None = None
    call: str | None = None


def route(path: str) -> Route | None:
    """Match a request path; path segments come back percent-decoded."""
    account_match = ACCOUNT_PATH.match(path)
    if account_match is None or not account_match["rest"]:
        return None
    for name, pattern in ROUTES:
        match = pattern.match(account_match["rest"])
        if match is not None:
            parts = {key: unquote(value) for key, value in match.groupdict().items()}
            return Route(
                name=name, account_sid=unquote(account_match["account"]), path=path, **parts
            )
    return None


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | None
    created_call_sid: str | None = None


class Api:
    def __init__(
        self,
        *,
        store: Store,
        player: Player,
        call_queue: CallQueue,
        current_faults: Callable[[], Faults],
    ) -> None:
        self._store = store
        self._player = player
        self._call_queue = call_queue
        self._current_faults = current_faults

    def handle(self, method: str, route: Route, query: FormParams, form: FormParams) -> Answer:
        if method not in ALLOWED_METHODS[route.name]:
            raise errors.method_not_allowed(method)
        handler = getattr(self, f"_{method.lower()}_{route.name}")
        with self._store.lock:
            answer: Answer = handler(route, query if method == "GET" else form)
            return answer

    def misanswer(self, answer: Answer, wrong: str, route: Route, method: str) -> Answer:
        """The answer made wrong as the `wrong_answer` fault asks (faults.WRONG_ANSWERS);
        what the request did stays done."""
        body = dict(answer.body or {})
        with self._store.lock:
            others = [
                c
                for c in self._store.calls.values()
                if c.account_sid == route.account_sid
                and c.sid not in (answer.created_call_sid, route.call)
            ]
            if answer.created_call_sid is not None:
                if wrong == "reused_call_sid" and others:
                    body["call_sid"] = others[0].sid
                elif wrong == "other_label":
                    body["label"] = f"{body.get('label') or ''}-not-asked"
                elif wrong == "other_conference":
                    body["conference_sid"] = new_sid("CF")
            elif wrong == "other_call" and route.name == "call" and method == "GET" and others:
                body = resources.call_json(others[0])
        return Answer(answer.status, body, answer.created_call_sid)

    # ----------------------------------------------------------------- conferences

    def _get_conferences(self, route: Route, query: FormParams) -> Answer:
        reader = FormReader(query)
        friendly_name = reader.text("FriendlyName")
        status = reader.optional_choice("Status", CONFERENCE_STATUSES)
        created = parse_time_bounds(query, "DateCreated")
        updated = parse_time_bounds(query, "DateUpdated")
        page = parse_page(query)
        conferences = [
            c
            for c in self._store.conferences.values()
            if c.account_sid == route.account_sid
            and (friendly_name is None or c.friendly_name == friendly_name)
            and (status is None or c.status.value == status)
            and all(bound.admits(c.date_created) for bound in created)
            and all(bound.admits(c.date_updated) for bound in updated)
        ]
        conferences.sort(key=lambda c: c.date_created, reverse=True)
        items = [(c.sid, resources.conference_json(c)) for c in conferences]
        return Answer(
            200,
            paging.envelope("conferences", items, _list_path(route), _filters(query), page),
        )

    def _get_conference(self, route: Route, query: FormParams) -> Answer:
        return Answer(200, resources.conference_json(self._conference(route)))

    def _post_conference(self, route: Route, form: FormParams) -> Answer:
        conference = self._conference(route)
        update = parse_conference_update(form)
        if update.announce_url:
            self._player.announce_to_conference(conference)
        if update.status == "completed":
            self._player.end_conference(conference)
        return Answer(200, resources.conference_json(conference))

    def _conference(self, route: Route) -> Conference:
        reference = route.conference or ""
        conference = self._store.conferences.get(reference)
        if (
            not CONFERENCE_SID.match(reference)
            or conference is None
            or conference.account_sid != route.account_sid
        ):
            raise errors.not_found(route.path)
        return conference

    # ----------------------------------------------------------------- participants

    def _post_participants(self, route: Route, form: FormParams) -> Answer:
        request = parse_participant_create(form)
        rejection = rejection_for(request.to)
        if rejection is not None:
            raise rejection
        faults = self._current_faults()

        def admit() -> float:
            return self._call_queue.admit(route.account_sid, faults.cps, faults.queue_cap_seconds)

        _, participant, call = self._player.add_participant(
            route.account_sid, route.conference or "", request, admit
        )
        body = resources.participant_json(participant, queue_time_ms=call.queue_time_ms)
        return Answer(201, body, created_call_sid=call.sid)

    def _get_participants(self, route: Route, query: FormParams) -> Answer:
        conference = self._conference(route)
        reader = FormReader(query)
        muted = reader.optional_boolean("Muted")
        hold = reader.optional_boolean("Hold")
        coaching = reader.optional_boolean("Coaching")
        page = parse_page(query)
        participants = [
            p
            for p in conference.active_participants()
            if (muted is None or p.muted == muted)
            and (hold is None or p.hold == hold)
            and (coaching is None or p.coaching == coaching)
        ]
        participants.sort(key=lambda p: p.date_created, reverse=True)
        items = [(p.call_sid, resources.participant_json(p)) for p in participants]
        return Answer(
            200,
            paging.envelope("participants", items, _list_path(route), _filters(query), page),
        )

    def _get_participant(self, route: Route, query: FormParams) -> Answer:
        return Answer(200, resources.participant_json(self._participant(route)[1]))

    def _post_participant(self, route: Route, form: FormParams) -> Answer:
        conference, participant = self._participant(route)
        self._player.update_participant(conference, participant, parse_participant_update(form))
        return Answer(200, resources.participant_json(participant))

    def _delete_participant(self, route: Route, form: FormParams) -> Answer:
        self._player.remove_participant(self._participant(route)[1])
        return Answer(204, None)

    def _participant(self, route: Route) -> tuple[Conference, Participant]:
        conference = self._conference(route)
        participant = conference.find_active(route.participant or "")
        if participant is None or conference.status is ConferenceStatus.COMPLETED:
            raise errors.not_found(route.path)
        return conference, participant

    # ----------------------------------------------------------------- calls

    def _get_calls(self, route: Route, query: FormParams) -> Answer:
        reader = FormReader(query)
        to = reader.text("To")
        from_ = reader.text("From")
        status = reader.optional_choice("Status", CALL_STATUSES)
        parent = reader.text("ParentCallSid")
        started = parse_time_bounds(query, "StartTime")
        ended = parse_time_bounds(query, "EndTime")
        page = parse_page(query)
        calls = [
            c
            for c in self._store.calls.values()
            if c.account_sid == route.account_sid
            and (to is None or c.to == to)
            and (from_ is None or c.from_ == from_)
            and (status is None or c.status.value == status)
            # Participant legs have no parent call.
            and parent is None
            and all(bound.admits(c.start_time) for bound in started)
            and all(bound.admits(c.end_time) for bound in ended)
        ]
        calls.sort(key=lambda c: c.date_created, reverse=True)
        items = [(c.sid, resources.call_json(c)) for c in calls]
        return Answer(
            200, paging.envelope("calls", items, _list_path(route), _filters(query), page)
        )

    def _get_call(self, route: Route, query: FormParams) -> Answer:
        return Answer(200, resources.call_json(self._call(route)))

    def _post_call(self, route: Route, form: FormParams) -> Answer:
        call = self._call(route)
        status = parse_call_update(form)
        if status is not None:
            self._player.update_call(call, status)
        return Answer(200, resources.call_json(call))

    def _call(self, route: Route) -> Call:
        sid = route.call or ""
        call = self._store.calls.get(sid)
        if not CALL_SID.match(sid) or call is None or call.account_sid != route.account_sid:
            raise errors.not_found(route.path)
        return call


def _list_path(route: Route) -> str:
    path = route.path
    return path if path.endswith(".json") else path + ".json"


def _filters(query: FormParams) -> Sequence[tuple[str, str]]:
    paging_keys = {"PageSize", "Page", "PageToken"}
    return [
        (name, value)
        for name, values in query.items()
        if name not in paging_keys
        for value in values
    ]
