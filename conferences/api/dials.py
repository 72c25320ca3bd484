"""/api/v1/dials: create (the dial form's validation, with Idempotency-Key), read, list."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Header, Query, Router, Schema, Status

from conferences.accounts import twilio_accounts
from conferences.api import idempotency
from conferences.api.dial_body import (
    CONFERENCE_FIELD,
    api_field_name,
    body_digest,
    dial_body_model,
    form_data,
    rule_for,
)
from conferences.api.errors import ApiError, FieldError, form_errors, not_found, with_errors
from conferences.api.guards import api_user, require
from conferences.api.schemas import DialDetailOut, DialPageOut, dial_row_out, dial_story_out
from conferences.audit import trail as audit
from conferences.callbacks import relay
from conferences.callbacks.addresses import CALLBACK_PARAMETERS
from conferences.dialing import submission as dial_submission
from conferences.dialing.forms import DialForm
from conferences.history import rows as history_rows
from conferences.history import story as dial_stories
from conferences.history.filters import HistoryFilters
from conferences.history.pagination import Cursor
from conferences.models import DialRequest, User
from conferences.schema import parameters_by_name

router = Router(tags=["dials"])
DialCreate = dial_body_model()
MAX_PAGE_SIZE = 100


def _invalid(form: DialForm) -> ApiError:
    fields = form_errors(form, name_for=api_field_name, rule_for=rule_for)
    return ApiError(422, "invalid", "The dial was not sent: fix the fields named.", fields=fields)


def _relay_problems(form: DialForm) -> None:
    """Own callback URLs are relayed, so only to allow-listed hosts (as on the dial page)."""
    by_name = parameters_by_name()
    for parameter in CALLBACK_PARAMETERS:
        url = form.cleaned_data.get(by_name[parameter].field_name)
        if url and (problem := relay.check_target_url(url)):
            form.add_error(
                by_name[parameter].field_name, f"Callbacks cannot be relayed there: {problem}."
            )


def submit(user: User, values: dict[str, Any]) -> DialRequest:
    """Validate `values` with the dial form and store the dial, as the dial page does."""
    account = twilio_accounts.default_account()
    form = DialForm(form_data(values), caller_ids=account.caller_ids)
    if form.is_valid():
        _relay_problems(form)
    if not form.is_valid():
        raise _invalid(form)
    submission = dial_submission.DialSubmission(
        conference=form.conference_name(),
        params=form.loggable_twilio_params(),
        sip_auth_password=form.sip_auth_password() or "",
    )
    try:
        dial = dial_submission.submit_dial(operator=user, submission=submission)
    except dial_submission.LabelInUse as in_use:
        raise ApiError(
            409,
            "label_in_use",
            f"The label “{in_use.label}” is already used in this conference (a call keeps "
            f"its label after it ends); “{in_use.suggestion}” is free.",
            fields=[
                FieldError(
                    field="Label",
                    messages=[f"Already used; try “{in_use.suggestion}”."],
                    rule=rule_for("Label"),
                )
            ],
        ) from in_use
    audit.record(audit.AuditAction.DIAL, actor=user, dial=dial)
    return dial


@router.post(
    "/dials",
    response={201: DialDetailOut, 200: DialDetailOut, **with_errors(409)},
    summary="Dial a caller into a conference",
)
def create_dial(
    request: HttpRequest,
    response: HttpResponse,
    body: DialCreate,  # type: ignore[valid-type]
    idempotency_key: str = Header("", alias=idempotency.HEADER),
) -> Status[DialDetailOut]:
    """Validate like the dial form and queue the dial. With an Idempotency-Key, sending the
    same body again answers 200 with the same dial (no second call); another body, 409."""
    user = api_user(request)
    require(user, "dial", "dial")
    values = body.model_dump()  # type: ignore[attr-defined]
    try:
        if idempotency_key:
            key = idempotency.check_key(idempotency_key)
            dial, created = idempotency.dial_once(
                user=user,
                key=key,
                body_sha256=body_digest(values),
                create=lambda: submit(user, values),
            )
        else:
            dial, created = submit(user, values), True
    except dial_submission.ConferenceRefused as refused:
        audit.record(
            audit.AuditAction.DIAL,
            actor=user,
            target_type="conference",
            target_id=str(values.get(CONFERENCE_FIELD, ""))[:128],
            outcome="refused",
            detail={"reason": "run by another operator", "via": "api"},
        )
        raise ApiError(
            403,
            "conference_refused",
            str(refused),
            fields=[FieldError(field=CONFERENCE_FIELD, messages=[str(refused)])],
        ) from refused
    if not created:
        response["Idempotent-Replayed"] = "true"
    story = dial_stories.dial_story(user, dial.pk)
    return Status(201 if created else 200, dial_story_out(story))


@router.get(
    "/dials/{dial_id}", response={200: DialDetailOut, **with_errors()}, summary="Read a dial"
)
def read_dial(request: HttpRequest, dial_id: int) -> DialDetailOut:
    """One dial: status, every attempt, and the timeline of its callbacks and actions."""
    try:
        story = dial_stories.dial_story(api_user(request), dial_id)
    except DialRequest.DoesNotExist:
        raise not_found("dial") from None
    return dial_story_out(story)


class DialFilters(Schema):
    """The history page's filters, with the same names; `after` is a cursor from a page."""

    conference: str = ""
    conference_id: int | None = None
    operator: int | None = None
    status: list[str] = []
    answered_by: str = ""
    error_code: str = ""
    range: str = ""
    from_: str = Field("", alias="from")
    to: str = ""
    number: str = ""
    label: str = ""
    sort: str = "-time"
    after: str = Field("", description="`next_cursor` of the page before.")
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


@router.get("/dials", response={200: DialPageOut, **with_errors()}, summary="List dials")
def list_dials(
    request: HttpRequest,
    filters: Query[DialFilters],  # the document's; HistoryFilters reads the query itself
) -> DialPageOut:
    """The dials the caller may see (operators: their own), filtered like the history page,
    newest first, paged by cursor: pass `next_cursor` as `after` for the next page."""
    user = api_user(request)
    parsed = HistoryFilters.from_query(request.GET)
    if parsed.problems:
        raise ApiError(400, "invalid_filter", " ".join(parsed.problems))
    after = request.GET.get("after", "")
    if after and Cursor.decode(after, parsed.sort) is None:
        # Starting over silently would send a client round the same pages for ever.
        raise ApiError(
            400,
            "invalid_cursor",
            "after is not a next_cursor of this listing (with this sort).",
            fields=[FieldError(field="after", messages=["Unknown cursor."])],
        )
    page = history_rows.dial_history(
        user=user, filters=parsed, after=after, page_size=filters.limit
    )
    return DialPageOut(
        items=[dial_row_out(row) for row in page.rows], next_cursor=page.next_cursor or None
    )
