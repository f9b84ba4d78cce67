from datetime import timedelta

from django import template

from accounts.security import duration

register = template.Library()


@register.filter(name="duration")
def duration_filter(value: timedelta) -> str:
    """A lockout or session length in words: "30 minutes", "8 hours"."""
    return duration(value.total_seconds())
