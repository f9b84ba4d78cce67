"""What the patient page does to render fast shows the same page: the records' links built from one probe
per kind, and the screening's pathways kept in the fragment cache under their content."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from clinic.views import KINDS
from tests.conftest import client_for
from tests.patients.factories import PatientFactory
from tests.patients.test_query_budget import fill

pytestmark = pytest.mark.django_db


def page(client, patient) -> str:
    response = client.get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_each_records_edit_and_delete_links_are_the_reversed_urls(spec_client, site_a) -> None:
    PatientFactory(site=site_a)  # the patient's id is not the first: the probe's 0 is not in its place
    patient = PatientFactory(site=site_a)
    fill(patient, 11)  # ids of one and two digits
    html = page(spec_client, patient)
    expected = [
        reverse(f"patients:record_{action}", kwargs={"pk": patient.pk, "kind": kind, "rid": record.pk})
        for kind, rows in ((kind, KINDS[kind].model.objects.filter(patient=patient)) for kind in KINDS)
        for record in rows
        for action in ("edit", "delete")
    ]
    records = html[html.index('<h2 class="h4 mt-4">Records</h2>') :]
    shown = re.findall(r'href="([^"]+/\d+/(?:edit|delete)/)"', records)
    assert len(expected) == 6 * 11 * 2
    assert sorted(shown) == sorted(expected)


def test_a_reader_who_cannot_edit_gets_no_record_links(staff, site_a) -> None:
    patient = PatientFactory(site=site_a)
    fill(patient, 2)
    html = page(client_for(staff), patient)
    records = html[html.index('<h2 class="h4 mt-4">Records</h2>') :]
    assert "/edit/" not in records and "/delete/" not in records
