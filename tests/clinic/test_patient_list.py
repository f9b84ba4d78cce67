"""The patient list: keyset pages (any depth costs one indexed range), the total from the site's summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from tests.conftest import client_for
from tests.patients.factories import PatientFactory

URL = reverse("patients:list")


@pytest.fixture
def forty(site_a, site_b):
    now = timezone.now()
    made = [PatientFactory(site=site_a, identifier=f"P{i:03d}") for i in range(40)]
    PatientFactory(site=site_b, identifier="OTHER")
    # ten share one activity time: the id breaks the tie, so no row is shown twice or skipped
    for i, p in enumerate(made):
        when = now - timedelta(hours=i if i >= 10 else 0)
        Patient.objects.filter(pk=p.pk).update(last_activity=when)
    return made


def ids(response) -> list[str]:
    return [p.identifier for p in response.context["page"].rows]


@pytest.mark.django_db
def test_pages_walk_every_patient_once_forwards_and_back(forty, specialist) -> None:
    client = client_for(specialist)
    expected = [p.identifier for p in Patient.objects.filter(site=forty[0].site).order_by("-last_activity", "pk")]
    seen, pages, response = [], [], client.get(URL)
    while True:
        seen += ids(response)
        pages.append(response.context["page"])
        if not response.context["next_query"]:
            break
        response = client.get(URL + "?" + response.context["next_query"])
    assert seen == expected and len(pages) == 2 and "OTHER" not in seen
    assert response.context["total"] == 40
    back = client.get(URL + "?" + response.context["prev_query"])
    assert ids(back) == expected[:25] and not back.context["prev_query"]
    page = back.content.decode()
    assert 'rel="next"' in page and "40 patients (as of" in page


@pytest.mark.django_db
def test_search_counts_its_matches(forty, specialist) -> None:
    response = client_for(specialist).get(URL, {"q": "P00"})
    assert response.context["total"] == 10 and response.context["total_as_of"] is None
    assert ids(response) == sorted(ids(response))  # the ten share one time: by id


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["garbage", "2026-01-01T00:00:00~x", "2026-01-01T00:00:00~1", "~", "9" * 90])
def test_a_cursor_it_did_not_write_reads_as_the_first_page(forty, specialist, cursor) -> None:
    client = client_for(specialist)
    first = ids(client.get(URL))
    assert ids(client.get(URL, {"after": cursor})) == first
    assert client.get(URL, {"before": cursor}).status_code == 200


@pytest.mark.django_db
def test_the_total_follows_patients_added_at_once(site_a, specialist) -> None:
    client = client_for(specialist)
    PatientFactory(site=site_a)
    assert client.get(URL).context["total"] == 1
    PatientFactory(site=site_a)
    assert client.get(URL).context["total"] == 2  # counted up on the summary, not recomputed
