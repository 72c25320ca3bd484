"""/api/v1/conferences/{id}/invitees and bulk dials: replace or add invitees (JSON or CSV),
check a list without saving it, dial everyone missing, read progress, cancel. Each goes
through the live page's services, so the checks, limits and audit entries are the same."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status
from pydantic import ValidationError

from conferences.api.conferences import conference_for
from conferences.api.errors import (
    ApiError,
    FieldError,
    body_too_large,
    invalid_json,
    not_found,
    with_errors,
)
from conferences.api.guards import api_user, refused, require
from conferences.api.schemas import (
    CanceledOut,
    CheckOut,
    DialAllIn,
    InviteeIn,
    InviteeListIn,
    InviteesChangedOut,
    InviteListOut,
    ProgressOut,
    check_out,
    invite_list_out,
    progress_out,
)
from conferences.live import actions as live_actions
from conferences.live import invite_dialing, invite_import, invite_list
from conferences.live.forms import MAX_UPLOAD_BYTES, DialAllForm
from conferences.models import BulkDialRun, Conference, User

router = Router(tags=["invite lists"])

# The body of the list operations: JSON rows, or the CSV the live page accepts.
LIST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["invitees"],
                    "properties": {
                        "invitees": {
                            "type": "array",
                            "maxItems": invite_import.MAX_INVITE_ROWS,
                            "items": InviteeIn.model_json_schema(),
                        }
                    },
                }
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "One row per invitee: number, name, label, preset "
                    "(a header row naming the columns is optional).",
                }
            },
        },
    }
}


def invitees_csv(rows: list[InviteeIn], *, header: bool = True) -> str:
    """JSON rows as the CSV text the invite list import reads; without the header, the
    import's "Line n" is the n-th row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(invite_import.COLUMNS)
    for row in rows:
        writer.writerow([row.number, row.name, row.label, row.preset])
    return out.getvalue()


def list_text(request: HttpRequest) -> str:
    """The invite list in the body, as the CSV text the live page's import reads."""
    if len(request.body) > MAX_UPLOAD_BYTES:
        raise body_too_large(MAX_UPLOAD_BYTES, "an invite list's limit")
    if request.content_type == "text/csv":
        try:
            return request.body.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ApiError(400, "invalid_body", "Send the CSV as UTF-8.") from error
    if request.content_type != "application/json":
        raise ApiError(
            415 if request.body else 400,
            "unsupported_media_type",
            'Send the list as application/json ({"invitees": [...]}) or text/csv.',
        )
    try:
        document = json.loads(request.body)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise invalid_json(error) from None
    try:
        parsed = InviteeListIn.model_validate(document)
    except ValidationError as error:
        fields = [
            FieldError(field=".".join(str(p) for p in e["loc"]), messages=[e["msg"]])
            for e in error.errors()
        ]
        raise ApiError(
            422, "invalid", "The invite list is not valid JSON rows.", fields=fields
        ) from None
    if len(parsed.invitees) > invite_import.MAX_INVITE_ROWS:
        raise ApiError(
            422, "invalid", f"An invite list holds at most {invite_import.MAX_INVITE_ROWS} rows."
        )
    return invitees_csv(parsed.invitees)


def _bulk_conference(request: HttpRequest, conference_id: int) -> tuple[User, Conference]:
    user = api_user(request)
    require(user, "bulk_dial", "keep invite lists")
    return user, conference_for(user, conference_id)


@router.get(
    "/conferences/{conference_id}/invitees",
    response={200: InviteListOut, **with_errors()},
    summary="Read the invite list and bulk dial progress",
)
def read_invitees(request: HttpRequest, conference_id: int) -> InviteListOut:
    """Every invitee with their attendance state, and the latest bulk dial's progress."""
    user = api_user(request)
    require(user, "view_own_calls", "see conferences")
    conference = conference_for(user, conference_id)
    return invite_list_out(invite_list.invite_list(user, conference))


@router.post(
    "/conferences/{conference_id}/invitees/check",
    response={200: CheckOut, **with_errors(415)},
    openapi_extra=LIST_BODY,
    summary="Check an invite list without saving it",
)
def check_invitees(request: HttpRequest, conference_id: int) -> CheckOut:
    """Every row with its problems (number, duplicates, label, preset); nothing is stored."""
    user, conference = _bulk_conference(request, conference_id)
    text = list_text(request)
    return check_out(invite_import.read_invite_list(text, conference=conference, user=user))


@router.post(
    "/conferences/{conference_id}/invitees",
    response={200: InviteesChangedOut, **with_errors(409, 415)},
    openapi_extra=LIST_BODY,
    summary="Add invitees",
)
def add_invitees(request: HttpRequest, conference_id: int) -> InviteesChangedOut:
    """Add the valid rows (checked again); `check` says what happened to each row."""
    user, conference = _bulk_conference(request, conference_id)
    text = list_text(request)
    try:
        added = invite_import.add_invitees(user=user, conference=conference, text=text)
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return InviteesChangedOut(added=added.added, removed=0, check=check_out(added.preview))


@router.put(
    "/conferences/{conference_id}/invitees",
    response={200: InviteesChangedOut, **with_errors(409, 415)},
    openapi_extra=LIST_BODY,
    summary="Replace the invite list",
)
def replace_invitees(request: HttpRequest, conference_id: int) -> InviteesChangedOut:
    """Take everyone off the list and add these rows, in one transaction: 409 (and nothing
    changed) while anyone on the old list is being dialed or is in the conference."""
    user, conference = _bulk_conference(request, conference_id)
    text = list_text(request)
    try:
        with transaction.atomic():
            old = list(conference.invitees.select_related("last_dial", "conference"))
            for invitee in old:
                invite_import.remove_invitee(user=user, invitee=invitee)
            added = invite_import.add_invitees(user=user, conference=conference, text=text)
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return InviteesChangedOut(added=added.added, removed=len(old), check=check_out(added.preview))


@router.post(
    "/conferences/{conference_id}/dial-all",
    response={202: ProgressOut, **with_errors(409)},
    summary="Dial every invitee who is not queued, ringing or in",
)
def dial_all(request: HttpRequest, conference_id: int, body: DialAllIn) -> Status[ProgressOut]:
    """Start a bulk dial through the pipeline (pressed twice, nobody is dialed twice)."""
    user, conference = _bulk_conference(request, conference_id)
    form = DialAllForm({"caller_id": body.caller_id}, caller_ids=invite_list.caller_ids(conference))
    if not form.is_valid():
        raise ApiError(
            422,
            "invalid",
            "Choose one of the account's caller IDs.",
            fields=[
                FieldError(
                    field="caller_id",
                    messages=[str(error) for error in form.errors.get("caller_id", [])],
                    rule="one of: " + ", ".join(invite_list.caller_ids(conference)),
                )
            ],
        )
    try:
        run = invite_dialing.dial_all_missing(
            user=user, conference=conference, caller_id=form.cleaned_data["caller_id"]
        )
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    return Status(202, progress_out(invite_list.run_progress(run)))


def _run(conference: Conference, run_id: int) -> BulkDialRun:
    found = BulkDialRun.objects.filter(pk=run_id, conference=conference).first()
    if found is None:
        raise not_found("bulk dial")
    return found


@router.get(
    "/conferences/{conference_id}/runs/{run_id}",
    response={200: ProgressOut, **with_errors()},
    summary="Read a bulk dial's progress",
)
def read_run(request: HttpRequest, conference_id: int, run_id: int) -> ProgressOut:
    """How far a bulk dial got: waiting, placed, failed, canceled."""
    user = api_user(request)
    require(user, "view_own_calls", "see conferences")
    conference = conference_for(user, conference_id)
    return progress_out(invite_list.run_progress(_run(conference, run_id)))


@router.post(
    "/conferences/{conference_id}/runs/{run_id}/cancel",
    response={200: CanceledOut, **with_errors(409)},
    summary="Cancel a bulk dial's dials that have not started",
)
def cancel_run(request: HttpRequest, conference_id: int, run_id: int) -> CanceledOut:
    """Stop the dials no worker has started; calls already placed go on."""
    user, conference = _bulk_conference(request, conference_id)
    run = _run(conference, run_id)
    try:
        canceled = invite_dialing.cancel_bulk_dial(user=user, run=run)
    except (live_actions.LiveActionRefused, PermissionDenied) as error:
        raise refused(error) from error
    run.refresh_from_db()
    return CanceledOut(canceled=canceled, progress=progress_out(invite_list.run_progress(run)))
