from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def as_values(value: object) -> list[str]:
    """A field's value as the list of strings a form submits for it (empty: none)."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item not in (None, "")]
    return [str(value)]
