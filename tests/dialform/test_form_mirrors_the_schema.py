"""Parity: walking the schema and the form finds the same fields with the same constraints,
nothing missing, nothing extra."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, cast

import pytest
from django import forms
from django.core.validators import (
    BaseValidator,
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    RegexValidator,
    URLValidator,
)

from conferences.dialing.forms import DialForm
from conferences.schema import ParameterSpec, load_participant_schema

SPECS = load_participant_schema()


def _limit(field: forms.Field, kind: type[BaseValidator]) -> Any:
    found = [v.limit_value for v in field.validators if isinstance(v, kind)]
    assert len(found) <= 1
    return found[0] if found else None


def choice_pairs(field: forms.Field) -> list[tuple[str, str]]:
    """The (value, label) pairs of a choice field; [] for other fields."""
    choices = getattr(field, "choices", None) or []
    return [(str(value), str(label)) for value, label in cast(Iterable[tuple[Any, Any]], choices)]


def constraints_of_field(form: DialForm, name: str) -> dict[str, Any]:
    field = form.fields[name]
    choices = [value for value, _ in choice_pairs(field)]
    tri_state = isinstance(field, forms.TypedChoiceField) and choices == ["", "true", "false"]
    patterns = [
        re.compile(v.regex).pattern
        for v in field.validators
        if isinstance(v, RegexValidator) and not isinstance(v, URLValidator)
    ]
    return {
        "required": field.required,
        "multi": isinstance(field, forms.MultipleChoiceField),
        "tri_state": tri_state,
        "integer": isinstance(field, forms.IntegerField),
        "choices": None if tri_state or not choices else [c for c in choices if c != ""],
        "min": _limit(field, MinValueValidator),
        "max": _limit(field, MaxValueValidator),
        "pattern": patterns[0] if patterns else None,
        "min_length": _limit(field, MinLengthValidator),
        "max_length": _limit(field, MaxLengthValidator),
        "url": any(
            isinstance(v, URLValidator) and sorted(v.schemes) == ["http", "https"]
            for v in field.validators
        ),
        "endpoint": callable(getattr(form, f"clean_{name}", None)),
        "write_only": isinstance(field.widget, forms.PasswordInput)
        and not field.widget.render_value,
    }


def constraints_of_spec(spec: ParameterSpec) -> dict[str, Any]:
    return {
        "required": spec.required,
        "multi": spec.is_multi,
        "tri_state": spec.is_tri_state,
        "integer": spec.is_integer,
        "choices": None if spec.is_boolean or spec.values is None else list(spec.values),
        "min": spec.min,
        "max": spec.max,
        "pattern": spec.pattern,
        "min_length": spec.min_length,
        "max_length": spec.max_length,
        "url": spec.format == "uri",
        "endpoint": spec.format == "endpoint",
        "write_only": spec.secret,
    }


def test_the_form_has_one_field_per_parameter_plus_the_conference_and_nothing_else():
    form = DialForm()
    assert list(form.fields) == ["conference", *(spec.field_name for spec in SPECS)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_each_field_has_exactly_its_parameters_constraints(spec: ParameterSpec):
    assert constraints_of_field(DialForm(), spec.field_name) == constraints_of_spec(spec)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.is_boolean], ids=lambda s: s.name)
def test_booleans_are_tri_state_with_twilios_default_as_the_empty_choice(spec: ParameterSpec):
    field = DialForm().fields[spec.field_name]
    assert spec.is_tri_state
    empty_label = dict(choice_pairs(field))[""]
    assert empty_label == f"Twilio default ({'true' if spec.default else 'false'})"


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.values and not s.is_multi], ids=lambda s: s.name
)
def test_single_choice_fields_start_empty_and_show_the_default_there(spec: ParameterSpec):
    empty_label = choice_pairs(DialForm().fields[spec.field_name])[0]
    expected = f"Twilio default ({spec.default})" if spec.default else "Not set"
    assert empty_label == ("", expected)


def test_event_lists_are_checkbox_multi_selects_with_twilios_values():
    form = DialForm()
    field = form.fields["conference_status_callback_event"]
    assert isinstance(field, forms.MultipleChoiceField)
    assert isinstance(field.widget, forms.CheckboxSelectMultiple)
    assert [v for v, _ in choice_pairs(field)] == [
        "start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement",
    ]  # fmt: skip
    assert "Twilio default when none is ticked: start end" in field.help_text


def test_numbers_and_urls_show_twilios_default_as_a_placeholder():
    form = DialForm()
    assert form.fields["timeout"].widget.attrs["placeholder"] == "Twilio default: 60"
    assert form.fields["wait_url"].widget.attrs["placeholder"] == (
        "Twilio default: the URL of our standard hold music"
    )
    assert "placeholder" not in form.fields["status_callback"].widget.attrs
    assert form.fields["timeout"].widget.attrs["min"] == 5
    assert form.fields["timeout"].widget.attrs["max"] == 600
