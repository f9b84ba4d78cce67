"""Display helpers of the rules administration pages."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def words(value: object) -> str:
    """A code as words: not_met → not met, insufficient_data → insufficient data."""
    return "" if value is None else str(value).replace("_", " ")
