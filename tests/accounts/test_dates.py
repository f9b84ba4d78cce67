"""One date format: shown, typed and inside stored sentences the clinic's way (accounts.dates)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django import forms
from django.template import Context, Template

from accounts import dates

ROOT = Path(__file__).resolve().parents[2]


def test_dates_are_shown_in_the_clinic_format() -> None:
    out = Template("{{ d|clinic_date }}|{{ d|clinic_month }}|{{ d }}|{{ d|date }}").render(
        Context({"d": date(2026, 11, 1)})
    )
    assert out == "01 Nov 2026|Nov 2026|01 Nov 2026|01 Nov 2026"


def test_iso_days_inside_text_are_rewritten_only_when_shown() -> None:
    stored = "SLEDAI-2K 12 on 2026-10-15, needs ≥ 8; rules 2026.2; case 2026-10-15-b; 2026-13-40"
    assert (
        dates.in_text(stored) == "SLEDAI-2K 12 on 15 Oct 2026, needs ≥ 8; rules 2026.2; case 2026-10-15-b; 2026-13-40"
    )
    assert Template("{{ t|clinic_dates }}").render(Context({"t": "<b> on 2026-10-15"})) == "&lt;b&gt; on 15 Oct 2026"


class _Form(forms.Form):
    day = forms.DateField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dates.clinic_dates(self)


@pytest.mark.parametrize("typed", ["01 Nov 2026", "1 nov 2026", "01 November 2026", "01/11/2026", "2026-11-01"])
def test_a_date_is_typed_the_way_it_is_shown_or_as_iso(typed: str) -> None:
    form = _Form({"day": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["day"] == date(2026, 11, 1)


def test_a_date_field_is_a_text_box_in_the_clinic_format_with_a_hint() -> None:
    form = _Form(initial={"day": date(2026, 11, 1)})
    html = str(form["day"])
    assert 'type="text"' in html and 'value="01 Nov 2026"' in html
    assert "e.g. 01 Nov 2026" in form.fields["day"].help_text
    bad = _Form({"day": "31/02/2026"})
    assert not bad.is_valid() and "day month year" in bad.errors["day"][0]


def test_templates_show_dates_through_the_clinic_filters() -> None:
    """A date format written into a template would drift from the settings: only machine formats in attributes."""
    found = []
    for path in (ROOT / "templates").rglob("*.html"):
        for m in re.finditer(r"\|date:([\"'])(.*?)\1", path.read_text(encoding="utf-8")):
            if m[2] not in ("c", "Y-m-d"):
                found.append(f"{path.relative_to(ROOT)}: {m[0]}")
    assert not found, found


def test_a_new_dated_record_starts_on_today_and_an_edit_keeps_its_date(spec_client, patient, today) -> None:
    from django.urls import reverse

    from tests.patients.factories import ObservationFactory

    page = spec_client.get(reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "observations"}))
    assert f'value="{dates.show_date(today)}"' in page.content.decode()
    old = ObservationFactory(patient=patient)
    edit = spec_client.get(
        reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": "observations", "rid": old.pk})
    )
    assert f'value="{dates.show_date(old.date)}"' in edit.content.decode()
