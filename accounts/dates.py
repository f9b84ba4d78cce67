"""Dates the clinic's way (settings.CLINIC_DATE_FORMAT): shown, typed and inside sentences.

Every page shows a date through the template filters of ``accounts.templatetags.clinic_dates`` and every
form takes one through ``ClinicDateInput``; both read the settings, so the format is chosen in one place.
Text written elsewhere with ISO dates inside (the rules engine's reasons, stored with each result; the
referral's event notes; the plausibility rules' messages) is stored as written and rewritten only when
shown (``in_text``): the stored words are never changed.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django import forms
from django.conf import settings
from django.utils import formats, timezone, translation

# an ISO day not glued to other digits or hyphens (so not part of a longer number, range code or version)
ISO_DAY = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-]|:\d)")


@lru_cache(maxsize=8192)
def _formatted(day: date, fmt: str, language: str | None) -> str:
    """Django's formatting of one day, remembered: a page shows hundreds of dates and formatting one through
    the locale machinery costs about 70 µs, a lookup here under 1 µs. The key holds the format and the
    active language, so a changed setting or translation is never served an old text."""
    return formats.date_format(day, fmt)


def show_date(value: date | datetime | None) -> str:
    """A day in the clinic's format ("01 Nov 2026"); empty for no date."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return _formatted(value, settings.CLINIC_DATE_FORMAT, translation.get_language())


def show_datetime(value: datetime | None, *, seconds: bool = False) -> str:
    """A moment in the clinic's format and time zone ("01 Nov 2026 14:05", with ":07" for ``seconds``)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    time_format = settings.CLINIC_TIME_FORMAT + (":s" if seconds else "")
    return formats.date_format(value, f"{settings.CLINIC_DATE_FORMAT} {time_format}")


def show_month(value: date | None) -> str:
    """A month ("Nov 2026"), for chart axes and timelines."""
    return "" if value is None or value == "" else formats.date_format(value, settings.CLINIC_MONTH_FORMAT)


def _rewrite(match: re.Match[str]) -> str:
    try:
        return show_date(date(int(match[1]), int(match[2]), int(match[3])))
    except ValueError:  # not a real day (2026-13-45): leave the text as it is
        return match[0]


def in_text(text: Any) -> Any:
    """``text`` with every ISO day inside it ("since 2026-03-01") shown the clinic's way; other values as given."""
    if not isinstance(text, str) or "-" not in text:
        return text
    return ISO_DAY.sub(_rewrite, text)


class ClinicDateInput(forms.DateInput):
    """A text box for a day, shown and typed in the clinic's format (the first of its input formats);
    the field accepts the other input formats too (ISO among them). Its hint is the field's help text
    (``hint``), so it is read out with the field."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {"autocomplete": "off", "spellcheck": "false", "size": 12, "placeholder": "dd Mmm yyyy", **(attrs or {})},
            format=settings.CLINIC_DATE_INPUT_FORMATS[0],
        )


def hint(help_text: str = "") -> str:
    """The date hint, before any help text the field already has."""
    return f"{settings.CLINIC_DATE_HINT}. {help_text}".strip() if help_text else settings.CLINIC_DATE_HINT + "."


def clinic_dates(form: forms.BaseForm) -> None:
    """Give every date field of ``form`` the clinic's text box and hint (call at the end of ``__init__``)."""
    for field in form.fields.values():
        if isinstance(field, forms.DateField) and not isinstance(field.widget, forms.HiddenInput):
            field.widget = ClinicDateInput(
                attrs={k: v for k, v in field.widget.attrs.items() if k not in ("min", "max", "type")}
            )
            field.help_text = hint(str(field.help_text or ""))
            field.input_formats = settings.CLINIC_DATE_INPUT_FORMATS
            field.error_messages["invalid"] = "Enter a date as day month year, e.g. 01 Nov 2026."
