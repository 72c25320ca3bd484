"""Dial presets and prefilled dial forms ("dial again", "start from a preset")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from conferences.accounts import masking, roles
from conferences.callbacks.addresses import CALLBACK_PARAMETERS, OPERATOR_CALLBACK_PARAMETERS
from conferences.core import inputs
from conferences.core.inputs import ColumnTextField
from conferences.models import DialPreset, DialRequest, User
from conferences.schema import load_participant_schema

# Who and where are chosen per call; secrets are never stored in a preset, nor a call token
# (it belongs to one incoming call and expires with it).
NOT_IN_PRESETS = frozenset({"conference", "to", "from", "label", "sip_auth_password", "call_token"})


class PresetNotAllowed(Exception):
    pass


class PresetNameForm(forms.Form):
    """The name a preset is saved under: one its column can hold."""

    preset_name = ColumnTextField(
        DialPreset._meta.get_field("name"),
        error_messages={"required": "Give the preset a name."},
    )


def presets_for(user: User) -> QuerySet[DialPreset]:
    """The user's own presets and the shared ones."""
    return DialPreset.objects.filter(Q(owner=user) | Q(owner__isnull=True)).order_by(
        "owner", "name"
    )


def preset_values(data: Mapping[str, Any], *, multi_fields: set[str]) -> dict[str, Any]:
    """The options worth keeping from submitted form data: set values, no secrets."""
    values: dict[str, Any] = {}
    for spec in load_participant_schema():
        name = spec.field_name
        if name in NOT_IN_PRESETS:
            continue
        if name in multi_fields:
            getlist = getattr(data, "getlist", None)
            items = getlist(name) if getlist else list(data.get(name) or [])
            if items:
                values[name] = items
        elif data.get(name) not in (None, ""):
            values[name] = data.get(name)
    return values


def save_preset(*, user: User, name: str, values: dict[str, Any], shared: bool) -> DialPreset:
    """Create or replace a preset by name (shared ones need manage_shared_presets)."""
    if shared and not roles.user_can(user, "manage_shared_presets"):
        raise PresetNotAllowed("Only supervisors manage shared presets.")
    if not shared and not roles.user_can(user, "manage_own_presets"):
        raise PresetNotAllowed("Your role cannot save presets.")
    preset, _ = DialPreset.objects.update_or_create(
        owner=None if shared else user, name=name.strip(), defaults={"values": values}
    )
    return preset


def initial_from_preset(user: User, preset_id: str | None) -> dict[str, Any]:
    pk = inputs.whole_number(preset_id)
    if pk is None:
        return {}
    preset = presets_for(user).filter(pk=pk).first()
    return dict(preset.values) if preset else {}


def dial_to_copy(user: User, dial_id: str | int | None) -> DialRequest | None:
    """A past dial the user may dial again: their own, or any for who sees every call."""
    pk = inputs.whole_number(dial_id)
    if pk is None:
        return None
    dials = DialRequest.objects.select_related("conference")
    if not roles.user_can(user, "view_all_calls"):
        dials = dials.filter(operator=user)
    return dials.filter(pk=pk).first()


def initial_from_dial(user: User, dial_id: str | None) -> dict[str, Any]:
    """A past dial's form values, with the operator's own callback URLs (not ours) back;
    without its numbers when the user only sees them masked."""
    dial = dial_to_copy(user, dial_id)
    if dial is None:
        return {}
    # The app's own callback URLs, and numbers the user may not see, are not copied.
    left_out = set(OPERATOR_CALLBACK_PARAMETERS)
    if not masking.may_see_dial_numbers(user, dial):
        left_out |= masking.NUMBER_PARAMETERS
    initial: dict[str, Any] = {"conference": dial.conference.friendly_name}
    for spec in load_participant_schema():
        if spec.name in left_out or spec.name == "Label" or spec.name not in dial.params:
            continue
        initial[spec.field_name] = dial.params[spec.name]
    kind_to_param = {kind: name for name, kind in CALLBACK_PARAMETERS.items()}
    by_name = {spec.name: spec.field_name for spec in load_participant_schema()}
    for kind, target in dial.relay_targets.items():
        url_param = kind_to_param.get(kind)
        if url_param is None:
            continue
        initial[by_name[url_param]] = target.get("url", "")
        initial[by_name[f"{url_param}Method"]] = target.get("method", "")
        if f"{url_param}Event" in by_name:
            initial[by_name[f"{url_param}Event"]] = list(target.get("events", []))
    return initial
