"""The patient page lists records to check (consistency hints), with links for a specialist, in no extra query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import client_for
from tests.referrals.factories import import_case, screen

pytestmark = pytest.mark.django_db


def test_an_unbiopsied_active_nephritis_is_a_record_to_check(site_a, specialist, staff, cases_day) -> None:
    patient = import_case(site_a, "nephritis-unbiopsied")
    screen(patient, as_of=cases_day)
    page = client_for(specialist).get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    text = page.content.decode()
    assert 'id="hints"' in text and "Records to check" in text
    assert "Lupus nephritis is recorded as active" in text and "no kidney biopsy class recorded" in text
    assert "/manifestations/" in text.split('id="hints"')[1].split("</section>")[0]  # a link to the entry
    staff_page = client_for(staff).get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    hints = staff_page.split('id="hints"')[1].split("</section>")[0]
    assert "Lupus nephritis is recorded as active" in hints and "/manifestations/" not in hints  # staff: no edit links


def test_no_section_when_the_records_agree(site_a, specialist, cases_day) -> None:
    patient = import_case(site_a, "mild-disease")
    screen(patient, as_of=cases_day)
    page = client_for(specialist).get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    assert 'id="hints"' not in page.content.decode()


def test_hints_cost_no_query(site_a, specialist, cases_day) -> None:
    quiet, noisy = import_case(site_a, "mild-disease"), import_case(site_a, "nephritis-unbiopsied")
    client = client_for(specialist)
    counts = []
    for patient in (quiet, noisy):
        screen(patient, as_of=cases_day)
        client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))
        counts.append(len(ctx))
    assert counts[0] == counts[1]
