"""A small world for walking every route: users with one object of every kind, each object
carrying words that appear nowhere else, so a page that shows someone else's object is
caught by those words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.test import Client
from django.utils import timezone

from conferences.accounts.twilio_accounts import default_account
from conferences.api import tokens
from conferences.history.rows import KnownRow
from conferences.models import (
    ApiToken,
    BulkDialRun,
    Conference,
    DialPreset,
    DialRequest,
    DialStatus,
    Invitee,
    ScheduledConference,
    User,
)
from tests.support.routes import OwnedObjects

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

API_PREFIX = "/api/"
# Numbers nobody else uses: neither appears on a page that does not show these objects.
NUMBERS = {"alpha": "+14155550166", "bravo": "+14155550177", "sierra": "+14155550188"}


def owned_objects(user: User, tag: str) -> OwnedObjects:
    """One conference (with its settings), dial, invitee, dial-all run and preset of `user`,
    every one named with `tag`."""
    conference = Conference.objects.create(
        account=default_account(),
        friendly_name=f"{tag}-secret-room",
        sid="CF" + tag[0].encode().hex() * 16,
        created_by=user,
    )
    dial = DialRequest.objects.create(
        account=conference.account,
        conference=conference,
        operator=user,
        to_number=NUMBERS[tag],
        from_number="+15005550006",
        label=f"{tag}-secret-label",
        params={"To": NUMBERS[tag], "From": "+15005550006", "Label": f"{tag}-secret-label"},
        call_sid="CA" + tag[0].encode().hex() * 16,
        recording_sid="RE" + tag[0].encode().hex() * 16,
        status=DialStatus.COMPLETED,
    )
    invitee = Invitee.objects.create(
        conference=conference,
        position=1,
        number=NUMBERS[tag],
        name=f"{tag}-secret-invitee",
        added_by=user,
        last_dial=dial,
    )
    run = BulkDialRun.objects.create(conference=conference, started_by=user)
    preset = DialPreset.objects.create(
        owner=user, name=f"{tag}-secret-preset", values={"timeout": "17"}
    )
    starts_at = timezone.now() + timedelta(days=1)
    event = ScheduledConference.objects.create(
        conference=conference,
        starts_at=starts_at,
        time_zone="UTC",
        dial_at=starts_at - timedelta(minutes=2),
        caller_id="+15005550006",
        planned_by=user,
    )
    made = tokens.create_token(user=user, name=f"{tag}-secret-token")
    return OwnedObjects(
        user=user,
        conference=conference,
        dial=dial,
        invitee=invitee,
        run=run,
        preset=preset,
        event=event,
        token=made.token,
        api_secret=made.secret,
    )


def markers(objects: OwnedObjects) -> list[str]:
    """Words only these objects carry: seeing one is seeing the object."""
    return [
        objects.conference.friendly_name,
        objects.dial.label,
        objects.dial.to_number,
        objects.invitee.name,
        objects.preset.name,
        objects.token.name,
    ]


def object_query(objects: OwnedObjects) -> dict[str, str]:
    """The query parameters that name an object (routes take them beside path arguments)."""
    return {
        "again": str(objects.dial.pk),  # dial page: "dial again"
        "preset": str(objects.preset.pk),  # dial page: "start from a preset"
        "conference_id": str(objects.conference.pk),  # history filter
        "row": KnownRow(objects.dial.pk, 0, DialStatus.QUEUED).encode(),  # live rows
    }


def object_body(objects: OwnedObjects, *, me: User) -> dict[str, Any]:
    """A POST body every form of the app would act on, aimed at these objects."""
    return {
        "action": "mute",
        "step": "confirm",
        "text": "+14155550123, Walker",
        "url": "https://example.com/announce.mp3",
        "method": "GET",
        "caller_id": "+15005550006",
        "operator": str(me.pk),  # "add me to their conference"
        "redial_max": "1",
        "dropped_within_seconds": "10",
        "callbacks_elsewhere": "unknown",
        "conference": objects.conference.friendly_name,
        "to": "+14155550123",
        "from": "+15005550006",
        "friendly_name": "walker-room",
        "next": "/",
    }


def signed_in(user: User, api_secret: str = "") -> Client:
    """A browser session of `user`; with `api_secret`, API requests carry their token too."""
    headers = {"Authorization": f"Bearer {api_secret}"} if api_secret else {}
    client = Client(raise_request_exception=True, headers=headers)
    client.force_login(user)
    return client


def send(
    client: Client, method: str, path: str, *, fragment: bool, query: dict[str, str], body: Any
) -> TestResponse:
    """One request as a browser (or htmx, with HX-Request) sends it; a streamed answer is
    read to its end so that its errors surface here."""
    headers = {"HX-Request": "true"} if fragment else {}
    if method == "GET":
        answer = client.get(path, query, headers=headers)
    elif path.startswith(API_PREFIX):
        # The API reads JSON: sent as a form, every body would stop at its parser.
        answer = client.post(
            f"{path}?{urlencode(query)}", body, content_type="application/json", headers=headers
        )
    else:
        answer = client.post(f"{path}?{urlencode(query)}", body, headers=headers)
    if getattr(answer, "streaming", False):
        answer.content_read = b"".join(answer.streaming_content)  # type: ignore[attr-defined]
    return answer


def text_of(answer: TestResponse) -> str:
    raw = getattr(answer, "content_read", None)
    if raw is None:
        raw = b"" if getattr(answer, "streaming", False) else answer.content
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class Snapshot:
    """What an operator must not be able to change about someone else's objects."""

    rows: tuple[Any, ...]

    @classmethod
    def of(cls, objects: OwnedObjects) -> Snapshot:
        conference = Conference.objects.get(pk=objects.conference.pk)
        return cls(
            rows=(
                conference.status,
                conference.ended_at,
                sorted(conference.operators.values_list("user_id", flat=True)),
                getattr(getattr(conference, "controls", None), "redial_max", None),
                list(conference.invitees.values_list("pk", "name", "number", "dial_count")),
                list(conference.bulk_runs.values_list("pk", "canceled_at")),
                list(conference.dials.values_list("pk", "status", "operator_id")),
                list(DialPreset.objects.filter(owner=objects.user).values_list("name", "values")),
                list(
                    ScheduledConference.objects.filter(pk=objects.event.pk).values_list(
                        "status", "starts_at", "canceled_at"
                    )
                ),
                list(ApiToken.objects.filter(user=objects.user).values_list("pk", "revoked_at")),
            )
        )
