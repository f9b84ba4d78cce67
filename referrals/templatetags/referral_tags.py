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
CAUTION_STYLE = {"present": "danger", "unknown": "warning", "absent": "success"}


@register.filter
def state_style(state: str) -> str:
    return STATE_STYLE.get(state, "secondary")


@register.filter
def caution_style(status: str) -> str:
    return CAUTION_STYLE.get(status, "secondary")
