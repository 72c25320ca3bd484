"""What typed input must be before it reaches the database: text a column can hold, days
the date arithmetic can handle, and ids and other whole numbers read from text.

One home for both, so every form and every hand-read filter refuses the same things with
the same words: PostgreSQL refuses NUL in text and text longer than a varchar column, and
Python's dates end at 9999-12-31 (a day after it, or a time zone's midnight before
0001-01-01, cannot be computed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)

if TYPE_CHECKING:
    from django.db.models import Field

Validator = Callable[[Any], None]

# Wide enough for any real call (and for any test data), far from both ends of `date`.
EARLIEST_DAY: Final = date(1970, 1, 1)
LATEST_DAY: Final = date(2999, 12, 31)
DAY_RANGE_MESSAGE: Final = (
    f"Dates must lie between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}."
)
DAY_FORMAT_MESSAGE: Final = "Dates must look like 2025-01-31."


# --- Text for a column ------------------------------------------------------------------


def column_text_validators(column: Field[Any, Any]) -> list[Validator]:
    """No NUL, and no longer than the model field's max_length (when it has one)."""
    validators: list[Validator] = [ProhibitNullCharactersValidator()]
    if column.max_length is not None:
        validators.append(MaxLengthValidator(column.max_length))
    return validators


def text_problems(value: str, column: Field[Any, Any], *, what: str = "") -> list[str]:
    """Why `value` cannot go into (or be compared with) `column`, in words; [] if it can.
    For input read by hand (filters, CSV cells) rather than through a form field."""
    problems: list[str] = []
    for validator in column_text_validators(column):
        try:
            validator(value)
        except ValidationError as error:
            problems.extend(f"{what}: {message}" if what else message for message in error.messages)
    return problems


class ColumnTextField(forms.CharField):
    """A form field for text stored in `column`: its max_length comes from the model, and
    NUL is refused (Django's CharField refuses NUL already; the length is the point)."""

    def __init__(self, column: Field[Any, Any], **kwargs: Any) -> None:
        kwargs.setdefault("max_length", column.max_length)
        kwargs.setdefault("required", not column.blank)
        super().__init__(**kwargs)


# --- Days -------------------------------------------------------------------------------


def day_validators() -> list[Validator]:
    return [
        MinValueValidator(EARLIEST_DAY, message=DAY_RANGE_MESSAGE),
        MaxValueValidator(LATEST_DAY, message=DAY_RANGE_MESSAGE),
    ]


def parse_day(text: str) -> tuple[date | None, str]:
    """A day typed as 2025-01-31: (the day, "") or (None, why not); ("" is no day at all)."""
    text = text.strip()
    if not text:
        return None, ""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, DAY_FORMAT_MESSAGE
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        return None, DAY_RANGE_MESSAGE
    return day, ""


class DayField(forms.DateField):
    """A date form field whose days the app can compute with (see EARLIEST_DAY, LATEST_DAY)."""

    default_validators = day_validators()


# --- Whole numbers --------------------------------------------------------------------

# ASCII digits only: str.isdigit() also takes "²" (which int() refuses: a 500) and "٣"
# (which int() reads as 3), and int() refuses text of over 4,300 digits. 18 digits fit
# PostgreSQL's bigint, the widest id column.
MAX_ID_DIGITS: Final = 18
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")


def whole_number(text: object, *, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The whole number `text` spells in 1 to `max_digits` ASCII digits; None for anything
    else (signs, spaces, other scripts' digits, too many digits, None)."""
    value = "" if text is None else str(text)
    if len(value) > max_digits or not _ASCII_DIGITS.fullmatch(value):
        return None
    return int(value)
