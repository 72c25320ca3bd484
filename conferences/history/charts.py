"""Server-rendered SVG charts for the history overview.

No JavaScript and no inline styles (the CSP allows neither): every shape carries classes
that static/css/app.css colours, each bar has a <title> for pointer users, and the page
shows the same numbers in a table beside each chart for everyone else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conferences.core import words
from conferences.history import overview as overview_numbers

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 40
MARGIN_RIGHT = 8
MARGIN_TOP = 10
MARGIN_BOTTOM = 34
BAR_GAP = 0.2  # share of each slot left empty between bars


@dataclass(frozen=True)
class Series:
    """One stacked layer: a name for CSS and people, and a value per category."""

    key: str
    label: str
    values: Sequence[int]


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: a label, a value, and how to show the value."""

    label: str
    value: float
    text: str
    css_class: str = ""


TICKS = 4  # gridlines above zero


def nice_step(value: float) -> int:
    """The smallest whole 1, 2 or 5 times a power of ten that is at least `value`."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def nice_ceiling(value: float) -> int:
    """An axis maximum for counts: at least `value`, with whole-number gridlines."""
    return TICKS * nice_step(value / TICKS)


def _number(value: float) -> str:
    return f"{value:g}"


def _css_name(value: str) -> str:
    return "".join(char if char.isalnum() else "-" for char in value.lower())


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    category_labels: Sequence[str],
    series: Sequence[Series],
) -> SafeString:
    """Vertical bars per category, each stacked from the series (bottom first)."""
    totals = [sum(layer.values[index] for layer in series) for index in range(len(categories))]
    axis_max = nice_ceiling(max(totals, default=0))
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / max(len(categories), 1)
    bar_width = slot * (1 - BAR_GAP)
    base_y = MARGIN_TOP + plot_height

    parts: list[SafeString] = []
    for tick in range(TICKS + 1):
        value = axis_max * tick / TICKS
        y = base_y - plot_height * tick / TICKS
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                MARGIN_LEFT,
                WIDTH - MARGIN_RIGHT,
                f"{y:.1f}",
                f"{y:.1f}",
                MARGIN_LEFT - 4,
                f"{y + 4:.1f}",
                _number(value),
            )
        )
    label_every = max(1, math.ceil(len(categories) / 10))
    for index, category in enumerate(categories):
        x = MARGIN_LEFT + slot * index + (slot - bar_width) / 2
        y = base_y
        for layer in series:
            count = layer.values[index]
            if not count:
                continue
            height = plot_height * count / axis_max
            y -= height
            parts.append(
                format_html(
                    '<rect class="chart-bar series-{}" x="{}" y="{}" width="{}" height="{}" '
                    'data-category="{}" data-series="{}" data-value="{}">'
                    "<title>{}: {} {}</title></rect>",
                    _css_name(layer.key),
                    f"{x:.1f}",
                    f"{y:.1f}",
                    f"{bar_width:.1f}",
                    f"{height:.1f}",
                    category,
                    layer.key,
                    count,
                    category_labels[index],
                    count,
                    layer.label.lower(),
                )
            )
        if index % label_every == 0:
            parts.append(
                format_html(
                    '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{x + bar_width / 2:.1f}",
                    HEIGHT - MARGIN_BOTTOM + 16,
                    category_labels[index],
                )
            )
    legend = format_html_join(
        "",
        '<rect class="chart-bar series-{}" x="{}" y="{}" width="10" height="10"/>'
        '<text class="chart-legend" x="{}" y="{}">{}</text>',
        (
            (
                _css_name(layer.key),
                MARGIN_LEFT + i * 100,
                HEIGHT - 12,
                MARGIN_LEFT + i * 100 + 14,
                HEIGHT - 3,
                layer.label,
            )
            for i, layer in enumerate(series)
        ),
    )
    return _svg(chart_id, title, description, _joined([*parts, legend]))


def horizontal_bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    maximum: float | None = None,
) -> SafeString:
    """One bar per item, longest = `maximum` (default: the largest value)."""
    row_height = 26
    label_width = 170
    text_width = 70
    height = max(len(bars), 1) * row_height + 8
    axis_max = (
        maximum if maximum is not None else nice_ceiling(max((b.value for b in bars), default=0))
    )
    plot_width = WIDTH - label_width - text_width
    rows = []
    for index, bar in enumerate(bars):
        y = 4 + index * row_height
        width = plot_width * bar.value / axis_max if axis_max else 0
        rows.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="chart-bar {}" x="{}" y="{}" width="{}" height="{}" '
                'data-label="{}" data-value="{}"><title>{}: {}</title></rect>'
                '<text class="chart-value" x="{}" y="{}">{}</text>',
                label_width - 6,
                y + 15,
                bar.label,
                bar.css_class or "series-default",
                label_width,
                y + 2,
                f"{width:.1f}",
                row_height - 8,
                bar.label,
                _number(bar.value),
                bar.label,
                bar.text,
                f"{label_width + width + 6:.1f}",
                y + 15,
                bar.text,
            )
        )
    return _svg(chart_id, title, description, _joined(rows), height=height)


def _joined(parts: Sequence[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _svg(
    chart_id: str, title: str, description: str, body: SafeString, *, height: int = HEIGHT
) -> SafeString:
    return format_html(
        # width and height give the box its proportions before layout (CSS scales it to
        # the column): without them a browser sizes the box as 300 by 150 and the chart
        # spills out of it, under the table that follows.
        '<svg class="chart" id="{}" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-labelledby="{}-title {}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        chart_id,
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        body,
    )


# --- The overview's charts ------------------------------------------------------------------


def overview_charts(overview: overview_numbers.Overview) -> dict[str, SafeString]:
    """The three charts of the overview page, from the numbers its tables show."""
    days = overview.days
    daily = stacked_bar_chart(
        chart_id="chart-daily",
        title="Calls per day by outcome",
        description=(
            f"{overview.dials} calls from {overview.first_day:%Y-%m-%d} to "
            f"{overview.last_day:%Y-%m-%d}; the table beside the chart has every number."
        ),
        categories=[day.day.isoformat() for day in days],
        category_labels=[f"{day.day:%b} {day.day.day}" for day in days],
        series=[
            Series(key, label, [day.counts.get(key, 0) for day in days])
            for key, label in overview_numbers.OUTCOMES
        ],
    )
    failures = horizontal_bar_chart(
        chart_id="chart-failures",
        title="Failures by Twilio error code",
        description="How many calls failed with each error code.",
        bars=[
            Bar(
                str(failure.code) if failure.code is not None else "no code",
                failure.count,
                str(failure.count),
                "series-failed",
            )
            for failure in overview.failures
        ],
    )
    operators = horizontal_bar_chart(
        chart_id="chart-operators",
        title="Answer rate per operator",
        description="Answered calls among each operator's finished calls, in percent.",
        bars=[
            Bar(
                summary.username,
                round((summary.answer_rate or 0) * 100, 1),
                percent(summary.answer_rate) or "no finished calls",
                "series-completed",
            )
            for summary in overview.operators
        ],
        maximum=100,
    )
    return {"daily": daily, "failures": failures, "operators": operators}


@dataclass(frozen=True)
class DailyRow:
    day: date
    counts: list[int]  # in overview_numbers.OUTCOMES order, as the chart stacks them
    total: int


@dataclass(frozen=True)
class OperatorRow:
    summary: overview_numbers.OperatorSummary
    answer_rate: str
    median: str


def percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f} %"


def overview_tables(overview: overview_numbers.Overview) -> dict[str, Any]:
    """The numbers the charts draw, as the tables beside them show them."""
    return {
        "daily_rows": [
            DailyRow(
                day.day,
                [day.counts.get(key, 0) for key, _label in overview_numbers.OUTCOMES],
                day.total,
            )
            for day in overview.days
        ],
        "operator_rows": [
            OperatorRow(
                summary,
                percent(summary.answer_rate),
                words.format_duration(summary.median_time_to_answer),
            )
            for summary in overview.operators
        ],
        "answer_rate": percent(overview.answer_rate),
        "median_tta": words.format_duration(overview.median_time_to_answer),
    }
