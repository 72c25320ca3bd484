"""The events each of Create Participant's callbacks can report: what Twilio offers and
sends by default (read from the schema), and what this app always asks for itself.

The one home of these lists: the dial pipeline asks Twilio for `requested_events`, the
relay forwards an operator's choice or `twilio_default_events`, and a test holds every
list here to the schema's values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from conferences.schema import parameter

# Twilio states no default for the recording callbacks' events; what it sends when none
# are named is the finished recording, as for every other recording callback it has.
UNSTATED_DEFAULT: Final = ("completed",)


@dataclass(frozen=True)
class CallbackEvents:
    """One callback URL parameter and the events it reports (none to choose for AMD)."""

    url_parameter: str
    app_events: tuple[str, ...]  # what this app always asks for, to follow the call itself

    @property
    def events_parameter(self) -> str | None:
        return None if self.url_parameter == "AmdStatusCallback" else f"{self.url_parameter}Event"

    @property
    def method_parameter(self) -> str:
        return f"{self.url_parameter}Method"

    @property
    def offered(self) -> tuple[str, ...]:
        """Every event Twilio can be asked for, in the schema's order."""
        if self.events_parameter is None:
            return ()
        return parameter(self.events_parameter).values or ()

    @property
    def twilio_default(self) -> tuple[str, ...]:
        """What Twilio reports when a URL is given and no events are named."""
        if self.events_parameter is None:
            return ()
        default = parameter(self.events_parameter).default
        if isinstance(default, tuple):
            return tuple(str(event) for event in default)
        return UNSTATED_DEFAULT

    def requested(self, chosen: Iterable[str]) -> list[str]:
        """The events to ask Twilio for: the app's own, then whatever else the operator
        chose (so that exactly their choice can be relayed), each once."""
        extra = set(chosen) - set(self.app_events)
        return [*self.app_events, *(event for event in self.offered if event in extra)]


CALLBACK_EVENTS: Final[tuple[CallbackEvents, ...]] = (
    # Every step of every call: the dial's status follows these.
    CallbackEvents("StatusCallback", ("initiated", "ringing", "answered", "completed")),
    # All but `speaker`, which fires on every burst of speech: only when an operator asks.
    CallbackEvents(
        "ConferenceStatusCallback",
        ("start", "end", "join", "leave", "mute", "hold", "modify", "announcement"),
    ),
    CallbackEvents("RecordingStatusCallback", ("in-progress", "completed", "absent")),
    CallbackEvents(
        "ConferenceRecordingStatusCallback", ("in-progress", "completed", "failed", "absent")
    ),
    CallbackEvents("AmdStatusCallback", ()),
)
BY_URL_PARAMETER: Final = {events.url_parameter: events for events in CALLBACK_EVENTS}
