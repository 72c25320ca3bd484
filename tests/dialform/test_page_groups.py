"""What the dial page reads: fieldsets in order, and whether a collapsed one must open."""

from __future__ import annotations

from conferences.dialing.forms import DialForm
from conferences.schema import GROUPS
from tests.dialform.helpers import minimal_data


def test_groups_come_in_page_order_with_every_field_exactly_once():
    form = DialForm()
    groups = form.groups()
    assert [(g.key, g.title) for g in groups] == [(g.key, g.title) for g in GROUPS]
    names = [bound.name for group in groups for bound in group.fields]
    assert sorted(names) == sorted(form.fields)
    assert len(names) == len(set(names))
    key, title, fields = groups[0]
    assert (key, title) == ("basic", "Participant")
    assert [f.name for f in fields[:3]] == ["conference", "to", "from"]


def test_an_empty_form_has_no_group_with_values_or_errors():
    form = DialForm()
    for group in GROUPS:
        assert not form.group_has_values(group.key)
        assert not form.group_has_errors(group.key)


def test_a_group_holding_a_value_is_reported_so_it_opens():
    form = DialForm(minimal_data(record="true", recording_channels="dual"))
    assert form.group_has_values("recording")
    assert not form.group_has_values("machine_detection")
    assert not form.group_has_values("callbacks")


def test_a_group_holding_an_error_is_reported_so_it_opens():
    form = DialForm(minimal_data(machine_detection_timeout="10"))
    assert not form.is_valid()
    assert form.group_has_errors("machine_detection")
    assert form.group_has_values("machine_detection")
    assert not form.group_has_errors("basic")


def test_a_ticked_event_counts_as_a_value():
    form = DialForm(minimal_data(status_callback_event=["ringing"]))
    assert form.group_has_values("callbacks")
