"""Query budgets: the same number of queries with 1 row and with 50 (style.md rule 12)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.patients.factories import (
    AssessmentFactory,
    ConditionFactory,
    DamageFactory,
    ManifestationFactory,
    ObservationFactory,
    PatientFactory,
    TreatmentFactory,
)


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def fill(patient, n: int) -> None:
    for i in range(n):
        day = date(2026, 1, 1) - timedelta(days=i)
        AssessmentFactory(patient=patient, date=day)
        DamageFactory(patient=patient, date=day)
        ManifestationFactory(patient=patient, date=day)
        ObservationFactory(patient=patient, date=day, code=["egfr", "c3", "alt"][i % 3], uln=35)
        TreatmentFactory(patient=patient, start=day, end=day + timedelta(days=5), stop_reason="other")
        ConditionFactory(patient=patient, date=day)


@pytest.mark.django_db
def test_patient_list_is_constant(spec_client, site_a) -> None:
    PatientFactory(site=site_a)
    url = reverse("patients:list") + "?per_page=100"
    one = count(spec_client, url)
    for _ in range(49):
        fill(PatientFactory(site=site_a), 1)
    fifty = count(spec_client, url)
    # session, user, user's sites with their summaries (the total: kept per site, counted up as patients
    # are added), page of patients (latest SLEDAI-2K and screening by subquery, for the page's rows only)
    assert one - 4 == fifty == 4  # the first view computed the site's summary: 3 queries and an upsert
    # any page after a cursor costs the same, and a search counts its matches instead of the summary
    page = spec_client.get(url.replace("100", "25")).context["page"]
    assert count(spec_client, url + "&after=" + page.next_cursor) == 4
    assert count(spec_client, url + "&q=PAT") == 5


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["patients:detail", "patients:history"])
def test_patient_pages_are_constant(spec_client, site_a, view) -> None:
    small, big = PatientFactory(site=site_a), PatientFactory(site=site_a)
    fill(small, 1)
    fill(big, 50)
    one = count(spec_client, reverse(view, kwargs={"pk": small.pk}))
    fifty = count(spec_client, reverse(view, kwargs={"pk": big.pk}))
    # detail: session, user, patient+site, one per record table (6), published rule set,
    # latest screening result; history: session, user, patient, one per history table (7);
    # both: the access-log row (one INSERT)
    assert one == fifty <= 15
