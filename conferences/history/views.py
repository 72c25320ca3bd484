"""The history pages: the list (whose live rows update themselves), one dial's story, the
overview, the CSV export and recordings. Thin: selectors read, export and recordings do the
work; who sees what is decided in the selectors, never in a template."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from conferences.accounts import roles
from conferences.callbacks import meaning as callback_meaning
from conferences.core.htmx import HtmxHttpRequest, vary_on_htmx, wants_fragment
from conferences.core.words import ANSWERED_BY_WORDS
from conferences.gateway import errors
from conferences.history import charts, export, recordings
from conferences.history import filters as history_filters
from conferences.history import overview as overview_numbers
from conferences.history import rows as history_rows
from conferences.history import story as dial_stories
from conferences.models import DialRequest, DialStatus, User

# Status words by value. Model.get_status_display() rebuilds its choices mapping on every
# call, a measurable share of a 50-row page.
STATUS_WORDS: dict[str, str] = {str(value): str(label) for value, label in DialStatus.choices}

# How often live rows (and a live dial's story) ask for news; htmx stops when all are final.
LIVE_POLL = "every 2s"
# htmx's "stop polling" status: the answer still swaps, and no further request is made.
STOP_POLLING = 286


def _viewer(request: HttpRequest) -> User:
    # LoginRequiredMiddleware and permission_required let only signed-in users get here.
    assert isinstance(request.user, User)  # noqa: S101
    return request.user


def conference_url(conference_id: int) -> str:
    """The live conference page (another area's); a plain path until its route exists."""
    try:
        return reverse("conferences:conference-detail", kwargs={"pk": conference_id})
    except NoReverseMatch:
        return f"/conferences/{conference_id}/"


def _url_for_ids(name: str, kwarg: str) -> Callable[[int], str]:
    """`reverse(name, kwargs={kwarg: id})` for many ids at the price of one call.

    reverse() costs ~50 µs; a page of 50 rows would pay it 100 times. The route's id is an
    `<int:…>` segment, so reversing once with a marker id and substituting is exact.
    """
    marker = 2_147_483_647
    head, found, tail = reverse(name, kwargs={kwarg: marker}).rpartition(str(marker))
    if not found:
        raise NoReverseMatch(f"{name} does not print its {kwarg} as a plain number")
    return lambda pk: f"{head}{pk}{tail}"


@dataclass(frozen=True)
class ListRow:
    """One row of the list as the template prints it: every value flat and ready.

    On a full page, rendering costs more than the database: each `{{ a.b.c }}` walks
    attribute by attribute, each `|date` and `{% url %}` formats from scratch. So a row
    arrives with its URLs, local times and words computed once, here, in plain Python.
    """

    dial_id: int
    status: str
    status_display: str
    is_live: bool
    detail_url: str
    created_iso: str  # local time, as `|date:"c"` would print it
    created_text: str
    conference_url: str
    conference_name: str
    operator_name: str
    to_display: str
    from_display: str
    label: str
    answered_by: str
    end_reason_words: str  # empty unless the end reason says more than the status
    time_to_answer_text: str
    time_in_conference_text: str
    has_error: bool
    error_code: str
    error_words: str
    attempt_count: int


def _list_rows(rows: Iterable[history_rows.HistoryRow]) -> list[ListRow]:
    detail_url = _url_for_ids("conferences:history-detail", "dial_id")
    try:
        live_conference_url = _url_for_ids("conferences:conference-detail", "pk")
    except NoReverseMatch:
        live_conference_url = conference_url
    flat = []
    for row in rows:
        dial = row.dial
        created = timezone.localtime(dial.created_at)
        says_more = bool(dial.end_reason) and dial.end_reason != dial.status
        flat.append(
            ListRow(
                dial_id=dial.pk,
                status=dial.status,
                status_display=STATUS_WORDS.get(dial.status, dial.status),
                is_live=row.is_live,
                detail_url=detail_url(dial.pk),
                created_iso=created.isoformat(),
                created_text=created.strftime("%Y-%m-%d %H:%M:%S"),
                conference_url=live_conference_url(dial.conference_id),
                conference_name=row.conference_name,
                operator_name=row.operator_name,
                to_display=row.to_display,
                from_display=row.from_display,
                label=dial.label,
                answered_by=ANSWERED_BY_WORDS.get(dial.answered_by, dial.answered_by),
                end_reason_words=row.end_reason_words if says_more else "",
                time_to_answer_text=row.time_to_answer_text,
                time_in_conference_text=row.time_in_conference_text,
                has_error=bool(dial.error_code or dial.error_message),
                error_code=str(dial.error_code) if dial.error_code else "",
                error_words=row.error_words,
                attempt_count=row.attempt_count,
            )
        )
    return flat


def _live_url(known: list[history_rows.KnownRow]) -> str:
    if not known:
        return ""
    query = urlencode([("row", row.encode()) for row in known])
    return f"{reverse('conferences:history-live')}?{query}"


def _list_context(request: HttpRequest, user: User) -> dict[str, Any]:
    filters = history_filters.HistoryFilters.from_query(request.GET)
    page = history_rows.dial_history(
        user=user,
        filters=filters,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    total, more = history_rows.matching_count(user=user, filters=filters)
    base = reverse("conferences:history")
    known = [history_rows.KnownRow(r.dial.pk, r.version, r.dial.status) for r in page.live_rows]
    return {
        "page": page,
        "total": total,
        "total_is_more": more,
        "rows": _list_rows(page.rows),
        "filters": filters,
        "base_url": base,
        "next_url": base + filters.query_string(after=page.next_cursor) if page.next_cursor else "",
        "previous_url": base + filters.query_string(before=page.previous_cursor)
        if page.previous_cursor
        else "",
        "newest_url": base + filters.query_string(),
        "time_sort_url": base
        + filters.query_string(sort="time" if filters.sort == "-time" else "-time"),
        "duration_sort_url": base
        + filters.query_string(sort="duration" if filters.sort == "-duration" else "-duration"),
        "sort_label": history_filters.SORTS[filters.sort],
        "export_url": reverse("conferences:history-export") + filters.query_string()
        if roles.user_can(user, "export_history")
        else "",
        "live_url": _live_url(known),
        "live_poll": LIVE_POLL,
        "statuses": DialStatus.choices,
        "answered_by_choices": [
            (value, ANSWERED_BY_WORDS.get(value, value))
            for value in sorted(callback_meaning.ANSWERED_BY_VALUES)
        ],
        "quick_ranges": [
            (key, label) for key, (_days, label) in history_filters.QUICK_RANGES.items()
        ],
        "sorts": history_filters.SORTS.items(),
        "operators": history_filters.operator_choices(user),
        "conference_names": history_filters.recent_conference_names(user),
        "can_view_overview": roles.user_can(user, "view_all_calls"),
        "can_dial": roles.user_can(user, "dial"),
        "zone_name": timezone.get_current_timezone_name(),
    }


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def history(request: HtmxHttpRequest) -> HttpResponse:
    """Every dial the viewer may see, filtered from the URL, newest first, paged by keyset."""
    context = _list_context(request, _viewer(request))
    fragment = wants_fragment(request)
    context["announce"] = fragment
    template = "conferences/history/list.html"
    response = render(request, f"{template}#results" if fragment else template, context)
    if fragment:
        # The form sends its empty fields too; the address bar gets the tidy equivalent.
        cursor = {name: request.GET.get(name, "") for name in ("after", "before")}
        response["HX-Push-Url"] = context["base_url"] + context["filters"].query_string(**cursor)
    vary_on_htmx(response)
    return response


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def history_live(request: HtmxHttpRequest) -> HttpResponse:
    """The live rows that changed since the browser looked, swapped in out of band."""
    known = [
        row
        for value in request.GET.getlist("row")[: history_filters.MAX_LIVE_ROWS]
        if (row := history_rows.KnownRow.decode(value)) is not None
    ]
    update = history_rows.live_update(_viewer(request), known)
    response = render(
        request,
        "conferences/history/list.html#live-update",
        {
            "update": update,
            "changed_rows": _list_rows(update.changed),
            "live_url": _live_url(update.still_live),
            "live_poll": LIVE_POLL,
        },
    )
    if not update.still_live:
        response.status_code = STOP_POLLING
    patch_cache_control(response, no_store=True)
    return response


@require_GET
@permission_required("conferences.view_own_calls", raise_exception=True)
def history_detail(request: HtmxHttpRequest, dial_id: int) -> HttpResponse:
    """One dial's whole story: parameters, attempts, Twilio's answer and the timeline."""
    user = _viewer(request)
    try:
        story = dial_stories.dial_story(user, dial_id)
    except DialRequest.DoesNotExist:
        raise Http404("No such call in your history") from None
    context = {
        "story": story,
        "dial": story.dial,
        "conference_url": conference_url(story.dial.conference_id),
        "dial_again_url": f"{reverse('conferences:dial')}?{urlencode({'again': dial_id})}"
        if roles.user_can(user, "dial")
        else "",
        "live_poll": LIVE_POLL,
        "zone_name": timezone.get_current_timezone_name(),
    }
    fragment = wants_fragment(request)
    template = "conferences/history/detail.html"
    response = render(request, f"{template}#story" if fragment else template, context)
    if fragment and story.dial.is_final:
        response.status_code = STOP_POLLING
    vary_on_htmx(response)
    return response


@require_GET
@permission_required("conferences.listen_recordings", raise_exception=True)
def history_recording(request: HttpRequest, dial_id: int) -> HttpResponseBase:
    """The dial's recording, streamed from Twilio through the app (each listen audited)."""
    user = _viewer(request)
    try:
        dial = dial_stories.dial_for_viewer(user, dial_id)
    except DialRequest.DoesNotExist:
        raise Http404("No such call in your history") from None
    byte_range = recordings.usable_byte_range(request.headers.get("Range", ""))
    try:
        media = recordings.open_recording(user=user, dial=dial, byte_range=byte_range)
    except recordings.NoRecording:
        raise Http404("This call has no recording") from None
    except errors.GatewayError as error:
        if error.status == 404:
            raise Http404("Twilio has no such recording") from None
        return HttpResponse("Twilio could not serve the recording.", status=502)
    response = StreamingHttpResponse(
        media.stream, status=media.status, content_type=media.content_type
    )
    if media.content_length is not None:
        response["Content-Length"] = str(media.content_length)
    if media.content_range:
        response["Content-Range"] = media.content_range
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="{dial.recording_sid}.mp3"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@permission_required("conferences.export_history", raise_exception=True)
def history_export(request: HttpRequest) -> HttpResponseBase:
    """The filtered history as CSV, streamed row chunk by row chunk (audited)."""
    filters = history_filters.HistoryFilters.from_query(request.GET)
    if filters.problems:
        # Exporting without the filter that could not be used would export more than asked.
        return HttpResponse(
            "Nothing exported; fix the filters first:\n" + "\n".join(filters.problems),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    lines = export.history_csv(user=_viewer(request), filters=filters)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.export_filename()}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@permission_required("conferences.view_all_calls", raise_exception=True)
def history_overview(request: HttpRequest) -> HttpResponse:
    """Supervisors' overview: outcomes per day, answer rate, time to answer, failures."""
    filters = history_filters.HistoryFilters.from_query(request.GET).with_default_range()
    overview = overview_numbers.history_overview(user=_viewer(request), filters=filters)
    context = {
        "overview": overview,
        "filters": filters,
        "charts": charts.overview_charts(overview),
        **charts.overview_tables(overview),
        "quick_ranges": [
            (key, label) for key, (_days, label) in history_filters.QUICK_RANGES.items()
        ],
        "outcomes": overview_numbers.OUTCOMES,
        "zone_name": timezone.get_current_timezone_name(),
    }
    return render(request, "conferences/history/overview.html", context)
