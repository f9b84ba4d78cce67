"""Dates on every page in the clinic's format (built in to every template: settings TEMPLATES "builtins").

    {{ a.date|clinic_date }}            01 Nov 2026
    {{ e.at|clinic_datetime }}          01 Nov 2026 14:05 (clinic time)
    {{ e.at|clinic_datetime:"seconds" }} 01 Nov 2026 14:05:07
    {{ d|clinic_month }}                Nov 2026
    {{ reason|clinic_dates }}           ISO days inside a sentence shown the clinic's way

Machine-readable attributes (``<time datetime>``, ``data-*``) keep ``|date:"Y-m-d"`` / ``|date:"c"``.
"""

from __future__ import annotations

from typing import Any

from django import template

from accounts import dates

register = template.Library()


@register.filter(expects_localtime=True)
def clinic_date(value: Any) -> str:
    return dates.show_date(value)


@register.filter(expects_localtime=True)
def clinic_datetime(value: Any, arg: str = "") -> str:
    return dates.show_datetime(value, seconds=arg == "seconds")


@register.filter(expects_localtime=True)
def clinic_month(value: Any) -> str:
    return dates.show_month(value)


@register.filter(is_safe=True)
def clinic_dates(value: Any) -> Any:
    """Rewrite ISO days inside text; keeps the value's escaping state (a digit-only rewrite adds no markup)."""
    return dates.in_text(value)
