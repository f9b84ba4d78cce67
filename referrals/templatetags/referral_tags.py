"""Display helpers for referral templates (no queries)."""

from django import template

register = template.Library()

STATE_STYLE = {
    "new": "primary",
    "in_review": "info",
    "referred": "success",
    "not_referred": "secondary",
    "deferred": "light",
    "needs_data": "warning",
}


@register.filter
def state_style(state: str) -> str:
    return STATE_STYLE.get(state, "secondary")
