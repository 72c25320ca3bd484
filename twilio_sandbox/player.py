"""Plays calls and conferences forward, and applies Twilio's conference rules.

A participant's call goes queued -> initiated -> ringing -> in-progress (joins the
conference) -> completed, or ends busy / no-answer / failed / canceled. Each step runs on
the scheduler thread, holding the store lock, and hands the callbacks it produces to
delivery. The API threads call the public methods below, also holding the store lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

from twilio_sandbox import callbacks, errors
from twilio_sandbox.callbacks import Callback
from twilio_sandbox.clock import SimClock, utcnow
from twilio_sandbox.magic import (
    TIMEOUT_BUFFER_SECONDS,
    detection_milliseconds,
    plan_call,
    reported_answered_by,
)
from twilio_sandbox.scheduler import Scheduler
from twilio_sandbox.sids import CONFERENCE_SID, new_sid
from twilio_sandbox.state import (
    Call,
    CallStatus,
    Conference,
    ConferenceStatus,
    Participant,
    ParticipantStatus,
    Recording,
    Store,
)
from twilio_sandbox.validation import CallbackSpec, ParticipantRequest, ParticipantUpdate

ANNOUNCEMENT_SECONDS: Final = 3.0
SIP_CODES: Final = {
    CallStatus.COMPLETED: 200,
    CallStatus.BUSY: 486,
    CallStatus.NO_ANSWER: 487,
    CallStatus.CANCELED: 487,
    CallStatus.FAILED: 404,
}
UNANSWERED: Final = {
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "failed": CallStatus.FAILED,
}
ENDED_REASONS: Final = {
    "conference-ended-via-api": "Conference ended via API",
    "last-participant-left": "Last participant left the conference",
    "last-participant-kicked": "Last participant was removed from the conference",
    "participant-with-end-conference-on-exit-left": (
        "Participant with endConferenceOnExit left the conference"
    ),
    "participant-with-end-conference-on-exit-kicked": (
        "Participant with endConferenceOnExit was removed from the conference"
    ),
}


class Player:
    def __init__(
        self,
        *,
        store: Store,
        scheduler: Scheduler,
        submit: Callable[[Callback], None],
        clock: SimClock,
        seed: int,
        base_url: Callable[[], str],
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.clock = clock
        self._submit = submit
        self._seed = seed
        self._base_url = base_url

    # ----------------------------------------------------------------- API operations

    def add_participant(
        self,
        account_sid: str,
        conference_ref: str,
        request: ParticipantRequest,
        admit: Callable[[], float],
    ) -> tuple[Conference, Participant, Call]:
        """Create the participant and its call, then start playing the call.

        `admit` is asked for the call's queue wait (CPS) once every check has passed.
        """
        with self.store.lock:
            conference = self._conference_for(account_sid, conference_ref)
            self._check_admission(conference, request)
            queue_seconds = admit()
            if conference is None:
                conference = self._open_conference(account_sid, conference_ref, request)
            call = self._new_call(account_sid, conference, request, queue_seconds)
            participant = Participant(
                call_sid=call.sid,
                account_sid=account_sid,
                conference_sid=conference.sid,
                label=request.label,
                muted=request.muted,
                hold=False,
                coaching=request.coaching,
                call_sid_to_coach=request.call_sid_to_coach,
                start_conference_on_enter=request.start_conference_on_enter,
                end_conference_on_exit=request.end_conference_on_exit,
                beep_on_exit=request.beep_on_exit,
                wait_url=request.wait_url,
                wait_method=request.wait_method,
            )
            conference.participants[call.sid] = participant
            conference.touch()
            self.store.calls[call.sid] = call
            self._later(queue_seconds, self._initiate, call)
            return conference, participant, call

    def update_participant(
        self, conference: Conference, participant: Participant, update: ParticipantUpdate
    ) -> None:
        with self.store.lock:
            coaching = participant.coaching if update.coaching is None else update.coaching
            if update.coaching is None and update.call_sid_to_coach is not None:
                coaching = True
            target = update.call_sid_to_coach or participant.call_sid_to_coach
            changes_coaching = update.coaching is not None or update.call_sid_to_coach is not None
            if coaching and changes_coaching:
                self._check_coaching_target(conference, target, participant.call_sid)
            was_muted, was_held, was_modifiable = (
                participant.muted,
                participant.hold,
                _modifiable(participant),
            )
            _apply(participant, update, coaching, target if coaching else None)
            participant.touch()
            if participant.status is not ParticipantStatus.CONNECTED:
                return
            call = self.store.calls[participant.call_sid]
            if participant.muted != was_muted:
                event = "participant-mute" if participant.muted else "participant-unmute"
                self._conference_event(conference, "mute", event, participant, call)
            if participant.hold != was_held:
                event = "participant-hold" if participant.hold else "participant-unhold"
                self._conference_event(conference, "hold", event, participant, call)
            if _modifiable(participant) != was_modifiable:
                self._conference_event(
                    conference, "modify", "participant-modify", participant, call
                )
            if update.announce_url:
                self._after_sim(ANNOUNCEMENT_SECONDS, self._announced, conference, participant)

    def remove_participant(self, participant: Participant) -> None:
        """DELETE: hang up a connected participant, cancel one still being dialled."""
        with self.store.lock:
            call = self.store.calls[participant.call_sid]
            if call.status is CallStatus.IN_PROGRESS:
                self._disconnect(call, "participant_updated_via_api", kicked=True)
            else:
                self._cancel(call, "participant_updated_via_api")

    def end_conference(self, conference: Conference) -> None:
        with self.store.lock:
            if conference.status is not ConferenceStatus.COMPLETED:
                self._end(conference, "conference-ended-via-api", None, "conference_ended_via_api")

    def announce_to_conference(self, conference: Conference) -> None:
        with self.store.lock:
            if conference.status is ConferenceStatus.COMPLETED:
                raise errors.bad_request(
                    errors.CONFERENCE_COMPLETED, "The conference has already completed"
                )
            self._after_sim(ANNOUNCEMENT_SECONDS, self._announced, conference, None)

    def update_call(self, call: Call, status: str) -> None:
        """Calls API `Status=completed` hangs up; `canceled` stops a call not yet answered."""
        with self.store.lock:
            if call.status.is_final:
                raise errors.bad_request(
                    errors.INVALID_CALL_STATE, "Call is not in-progress. Cannot redirect."
                )
            if call.status is CallStatus.IN_PROGRESS:
                if status == "completed":
                    self._disconnect(call, "participant_updated_via_api", kicked=True)
                return
            self._cancel(call, "participant_updated_via_api")

    # ----------------------------------------------------------------- admission

    def _conference_for(self, account_sid: str, reference: str) -> Conference | None:
        if CONFERENCE_SID.match(reference):
            conference = self.store.conferences.get(reference)
            if conference is None or conference.account_sid != account_sid:
                raise errors.not_found(
                    f"/2010-04-01/Accounts/{account_sid}/Conferences/{reference}.json"
                )
            if conference.status is ConferenceStatus.COMPLETED:
                raise errors.bad_request(
                    errors.CONFERENCE_COMPLETED, f"Conference {reference} has already completed"
                )
            return conference
        # A friendly name joins the conference of that name that is still open, or opens one.
        return self.store.open_conference_named(account_sid, reference)

    def _check_admission(self, conference: Conference | None, request: ParticipantRequest) -> None:
        active = conference.active_participants() if conference else []
        if request.label is not None and any(p.label == request.label for p in active):
            raise errors.bad_request(
                errors.LABEL_IN_USE, "Participant label is in use by another participant"
            )
        if conference is not None and len(active) >= conference.max_participants:
            raise errors.bad_request(errors.CONFERENCE_FULL, "Conference is full")
        if request.coaching:
            self._check_coaching_target(conference, request.call_sid_to_coach, None)

    def _check_coaching_target(
        self, conference: Conference | None, target: str | None, coach: str | None
    ) -> None:
        coached = conference.participants.get(target or "") if conference else None
        if coached is None or target == coach or coached.status is not ParticipantStatus.CONNECTED:
            raise errors.bad_request(
                errors.COACHED_PARTICIPANT_ABSENT,
                "Participant to be whispered is not present in the conference",
            )

    def _open_conference(
        self, account_sid: str, friendly_name: str, request: ParticipantRequest
    ) -> Conference:
        conference = Conference(
            sid=new_sid("CF"),
            account_sid=account_sid,
            friendly_name=friendly_name,
            region=request.region or "us1",
            max_participants=request.max_participants,
            status_callback=request.conference_callback,
            record=request.conference_record,
            recording_callback=request.conference_recording_callback,
        )
        self.store.conferences[conference.sid] = conference
        return conference

    def _new_call(
        self,
        account_sid: str,
        conference: Conference,
        request: ParticipantRequest,
        queue_seconds: float,
    ) -> Call:
        # Same seed, same To, same turn: same fate, whatever else the sandbox is doing.
        turn = self.store.calls_per_destination.get(request.to, 0)
        self.store.calls_per_destination[request.to] = turn + 1
        rng = random.Random(f"{self._seed}:{request.to}:{turn}")  # noqa: S311 - simulation
        plan = plan_call(request.to, rng)
        detection = request.machine_detection
        detection_ms = None
        if detection is not None:
            detection_ms = detection_milliseconds(plan.answerer, detection.mode, rng)
            if plan.answerer == "unknown":
                detection_ms = min(detection.silence_timeout, detection.timeout * 1000)
        return Call(
            sid=new_sid("CA"),
            account_sid=account_sid,
            conference_sid=conference.sid,
            request=request,
            plan=plan,
            queue_time_ms=round(queue_seconds * 1000),
            detection_ms=detection_ms,
        )

    # ----------------------------------------------------------------- timers

    def _later(self, real_seconds: float, step: Callable[..., None], *args: object) -> None:
        epoch = self.store.epoch

        def run() -> None:
            with self.store.lock:
                if self.store.epoch == epoch:
                    step(*args)

        self.scheduler.call_later(real_seconds, run)

    def _after_sim(self, sim_seconds: float, step: Callable[..., None], *args: object) -> None:
        self._later(self.clock.real_delay(sim_seconds), step, *args)

    # ----------------------------------------------------------------- call steps

    def _initiate(self, call: Call) -> None:
        if call.status is not CallStatus.QUEUED:
            return
        participant = self.store.participant_of(call)
        participant.status = ParticipantStatus.CONNECTING
        participant.touch()
        call.touch()
        self._call_event(call, "initiated")
        if call.plan.outcome in ("busy", "failed"):
            self._after_sim(
                call.plan.setup_seconds, self._unanswered, call, UNANSWERED[call.plan.outcome]
            )
        else:
            self._after_sim(call.plan.setup_seconds, self._ring, call)

    def _ring(self, call: Call) -> None:
        if call.status is not CallStatus.QUEUED:
            return
        call.status = CallStatus.RINGING
        call.touch()
        participant = self.store.participant_of(call)
        participant.status = ParticipantStatus.RINGING
        participant.touch()
        self._call_event(call, "ringing")
        give_up = call.request.timeout + TIMEOUT_BUFFER_SECONDS
        if call.plan.outcome == "answer" and call.plan.ring_seconds < give_up:
            self._after_sim(call.plan.ring_seconds, self._answer, call)
        else:
            self._after_sim(give_up, self._unanswered, call, CallStatus.NO_ANSWER)

    def _answer(self, call: Call) -> None:
        if call.status is not CallStatus.RINGING:
            return
        call.status = CallStatus.IN_PROGRESS
        call.start_time = utcnow()
        call.answered_sim = self.clock.sim_now()
        call.touch()
        self._call_event(call, "answered")
        self._start_call_recording(call)
        self._join(call)
        if call.detection_ms is not None:
            self._after_sim(call.detection_ms / 1000, self._detected, call)
        if call.plan.talk_seconds is not None:
            self._after_sim(call.plan.talk_seconds, self._hang_up, call, call.plan.talk_seconds)
        time_limit = float(call.request.time_limit)
        self._after_sim(time_limit, self._hang_up, call, time_limit)

    def _detected(self, call: Call) -> None:
        detection = call.request.machine_detection
        if call.status is not CallStatus.IN_PROGRESS or detection is None:
            return
        call.answered_by = reported_answered_by(call.plan.answerer, detection.mode)
        call.touch()
        if detection.callback is not None:
            label = self.store.participant_of(call).label
            self._submit(
                callbacks.machine_detection(call, detection.callback, call.detection_ms or 0, label)
            )

    def _hang_up(self, call: Call, planned_seconds: float) -> None:
        if call.status is CallStatus.IN_PROGRESS:
            self._disconnect(call, "participant_hung_up", kicked=False, seconds=planned_seconds)

    def _unanswered(self, call: Call, status: CallStatus) -> None:
        if call.status.is_final or call.status is CallStatus.IN_PROGRESS:
            return
        self._stop_unanswered(call, status, "participant_add_failed")
        conference = self.store.conferences[call.conference_sid]
        self._after_departure(conference, self.store.participant_of(call), kicked=False)

    # ----------------------------------------------------------------- conference rules

    def _join(self, call: Call) -> None:
        participant = self.store.participant_of(call)
        conference = self.store.conferences[call.conference_sid]
        participant.status = ParticipantStatus.CONNECTED
        participant.touch()
        conference.touch()
        self._conference_event(conference, "join", "participant-join", participant, call)
        if participant.start_conference_on_enter and conference.status is ConferenceStatus.INIT:
            self._start_conference(conference)

    def _start_conference(self, conference: Conference) -> None:
        conference.status = ConferenceStatus.IN_PROGRESS
        conference.started = True
        conference.touch()
        self._conference_event(conference, "start", "conference-start")
        if conference.record in ("true", "record-from-start"):
            conference.recording = Recording(
                new_sid("RE"), utcnow(), self.clock.sim_now(), channels="mono"
            )
            self._conference_recording_event(conference, "in-progress")

    def _disconnect(
        self,
        call: Call,
        reason: str,
        *,
        kicked: bool,
        seconds: float | None = None,
        check_conference: bool = True,
    ) -> None:
        """A connected participant leaves: its call completes."""
        participant = self.store.participant_of(call)
        conference = self.store.conferences[call.conference_sid]
        talked = seconds if seconds is not None else self.clock.sim_now() - (call.answered_sim or 0)
        call.status = CallStatus.COMPLETED
        call.end_time = utcnow()
        call.duration = max(0, round(talked))
        call.sip_response_code = SIP_CODES[CallStatus.COMPLETED]
        call.touch()
        participant.status = ParticipantStatus.COMPLETE
        participant.touch()
        conference.touch()
        self._conference_event(
            conference,
            "leave",
            "participant-leave",
            participant,
            call,
            (("ParticipantCallStatus", "completed"), ("ReasonParticipantLeft", reason)),
        )
        self._call_event(call, "completed")
        self._stop_call_recording(call)
        if check_conference:
            self._after_departure(conference, participant, kicked=kicked)

    def _cancel(self, call: Call, reason: str, *, check_conference: bool = True) -> None:
        if call.status.is_final:
            return
        self._stop_unanswered(call, CallStatus.CANCELED, reason)
        if check_conference:
            conference = self.store.conferences[call.conference_sid]
            self._after_departure(conference, self.store.participant_of(call), kicked=True)

    def _stop_unanswered(self, call: Call, status: CallStatus, reason: str) -> None:
        participant = self.store.participant_of(call)
        conference = self.store.conferences[call.conference_sid]
        call.status = status
        call.end_time = utcnow()
        call.duration = 0
        call.sip_response_code = SIP_CODES[status]
        call.touch()
        participant.status = ParticipantStatus.FAILED
        participant.touch()
        conference.touch()
        self._conference_event(
            conference,
            "leave",
            "participant-leave",
            participant,
            call,
            (("ParticipantCallStatus", status.value), ("ReasonParticipantLeft", reason)),
        )
        self._call_event(call, "completed")

    def _after_departure(
        self, conference: Conference, participant: Participant, *, kicked: bool
    ) -> None:
        if conference.status is ConferenceStatus.COMPLETED:
            return
        was_connected = participant.status is ParticipantStatus.COMPLETE
        if was_connected and participant.end_conference_on_exit:
            reason = "participant-with-end-conference-on-exit-" + ("kicked" if kicked else "left")
            self._end(conference, reason, participant, "moderator_ended_conference")
        elif not conference.active_participants():
            reason = "last-participant-kicked" if kicked else "last-participant-left"
            self._end(conference, reason, participant, "participant_hung_up")

    def _end(
        self,
        conference: Conference,
        reason: str,
        ending: Participant | None,
        participant_reason: str,
    ) -> None:
        conference.status = ConferenceStatus.COMPLETED
        conference.reason_ended = reason
        conference.call_sid_ending = ending.call_sid if ending else None
        conference.touch()
        for participant in conference.active_participants():
            call = self.store.calls[participant.call_sid]
            if call.status is CallStatus.IN_PROGRESS:
                self._disconnect(call, participant_reason, kicked=False, check_conference=False)
            else:
                self._cancel(call, participant_reason, check_conference=False)
        if conference.recording is not None:
            self._conference_recording_event(conference, "completed")
        if not conference.started:
            return
        extra = [("ReasonConferenceEnded", reason), ("Reason", ENDED_REASONS[reason])]
        if ending is not None:
            extra.append(("CallSidEndingConference", ending.call_sid))
            if ending.label is not None:
                extra.append(("ParticipantLabelEndingConference", ending.label))
        self._conference_event(conference, "end", "conference-end", extra=tuple(extra))

    def _announced(self, conference: Conference, participant: Participant | None) -> None:
        if conference.status is ConferenceStatus.COMPLETED:
            return
        if participant is not None and participant.status is not ParticipantStatus.CONNECTED:
            return
        call = self.store.calls[participant.call_sid] if participant else None
        self._conference_event(conference, "announcement", "announcement-end", participant, call)

    # ----------------------------------------------------------------- recordings

    def _start_call_recording(self, call: Call) -> None:
        if not call.request.record:
            return
        recording = call.recording = Recording(
            new_sid("RE"), utcnow(), self.clock.sim_now(), call.request.recording_channels
        )
        spec = call.request.recording_callback
        if spec is not None and (spec.wants("in-progress") or spec.wants("started")):
            self._submit(self._call_recording(call, spec, recording, "in-progress", None))

    def _stop_call_recording(self, call: Call) -> None:
        spec = call.request.recording_callback
        if call.recording is not None and spec is not None and spec.wants("completed"):
            self._submit(
                self._call_recording(call, spec, call.recording, "completed", call.duration or 0)
            )

    def _call_recording(
        self,
        call: Call,
        spec: CallbackSpec,
        recording: Recording,
        status: str,
        duration: int | None,
    ) -> Callback:
        return callbacks.recording_status(
            base_url=self._base_url(),
            account_sid=call.account_sid,
            spec=spec,
            recording=recording,
            status=status,
            source="OutboundAPI",
            duration=duration,
            call=call,
            label=self.store.participant_of(call).label,
        )

    def _conference_recording_event(self, conference: Conference, status: str) -> None:
        spec = conference.recording_callback
        if spec is None or not spec.wants(status) or conference.recording is None:
            return
        duration = None
        if status == "completed":
            duration = round(self.clock.sim_now() - conference.recording.started_sim)
        self._submit(
            callbacks.recording_status(
                base_url=self._base_url(),
                account_sid=conference.account_sid,
                spec=spec,
                recording=conference.recording,
                status=status,
                source="Conference",
                duration=duration,
                conference=conference,
            )
        )

    # ----------------------------------------------------------------- emitting

    def _call_event(self, call: Call, event: str) -> None:
        spec = call.request.status_callback
        if spec is None or not spec.wants(event):
            return
        value = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}.get(
            event, call.status.value
        )
        label = self.store.participant_of(call).label
        self._submit(callbacks.call_status(call, spec, value, label))

    def _conference_event(
        self,
        conference: Conference,
        keyword: str,
        event: str,
        participant: Participant | None = None,
        call: Call | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        spec = conference.status_callback
        if spec is not None and spec.wants(keyword):
            self._submit(
                callbacks.conference_event(conference, spec, event, participant, call, extra)
            )


def _modifiable(participant: Participant) -> tuple[object, ...]:
    """The settings whose change Twilio reports as participant-modify."""
    return (
        participant.beep_on_exit,
        participant.end_conference_on_exit,
        participant.coaching,
        participant.call_sid_to_coach,
    )


def _apply(
    participant: Participant,
    update: ParticipantUpdate,
    coaching: bool,
    call_sid_to_coach: str | None,
) -> None:
    if update.muted is not None:
        participant.muted = update.muted
    if update.hold is not None:
        participant.hold = update.hold
    if update.hold_url is not None:
        participant.hold_url = update.hold_url
    if update.hold_method is not None:
        participant.hold_method = update.hold_method
    if update.wait_url is not None:
        participant.wait_url = update.wait_url
    if update.wait_method is not None:
        participant.wait_method = update.wait_method
    if update.beep_on_exit is not None:
        participant.beep_on_exit = update.beep_on_exit
    if update.end_conference_on_exit is not None:
        participant.end_conference_on_exit = update.end_conference_on_exit
    participant.coaching = coaching
    participant.call_sid_to_coach = call_sid_to_coach
