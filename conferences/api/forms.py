"""The API tokens page's form."""

from __future__ import annotations

from django import forms

from conferences.core.inputs import ColumnTextField
from conferences.models import ApiToken


class NewTokenForm(forms.Form):
    name = ColumnTextField(
        ApiToken._meta.get_field("name"),
        label="Token name",
        help_text="What will use it, e.g. “CRM sync”. The token is shown once, right after.",
    )
