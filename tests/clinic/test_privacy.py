"""The privacy officer: the access log per patient of their sites, its CSV export, and nothing clinical."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from patients.models import PatientAccess
from tests.conftest import client_for, make_user
from tests.patients.factories import AssessmentFactory, PatientFactory


def log_url(patient) -> str:
    return reverse("privacy:patient_log", kwargs={"pk": patient.pk})


def export_url(patient) -> str:
    return reverse("privacy:patient_log_export", kwargs={"pk": patient.pk})


def open_record(user, patient, times: int = 1) -> None:
    client = client_for(user)
    for _ in range(times):
        assert client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).status_code == 200


def exported(client, patient) -> list[list[str]]:
    response = client.get(export_url(patient))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_home_and_navigation_lead_to_the_access_log(privacy_officer) -> None:
    client = client_for(privacy_officer)
    assert client.get("/")["Location"] == reverse("privacy:patients")
    page = client.get(reverse("privacy:patients")).content.decode()
    assert 'href="/privacy/patients/" aria-current="page">Access log<' in page
    assert "Referral queue" not in page and 'href="/patients/"' not in page


@pytest.mark.django_db
def test_the_list_has_the_patients_of_their_sites_by_identifier_only(privacy_officer, staff, patient, site_b) -> None:
    AssessmentFactory(patient=patient, sledai_low=14, sledai_high=14)
    elsewhere = PatientFactory(site=site_b, identifier="ELSEWHERE-1")
    open_record(staff, patient, times=3)
    page = client_for(privacy_officer).get(reverse("privacy:patients")).content.decode()
    assert patient.identifier in page and log_url(patient) in page and "<td>3</td>" in page
    assert elsewhere.identifier not in page
    assert f'href="{reverse("patients:detail", kwargs={"pk": patient.pk})}"' not in page  # no way into the record
    assert "SLEDAI" not in page and "Screening" not in page


@pytest.mark.django_db
def test_the_list_finds_by_identifier(privacy_officer, site_a) -> None:
    PatientFactory(site=site_a, identifier="FIND-ME")
    PatientFactory(site=site_a, identifier="OTHER")
    page = client_for(privacy_officer).get(reverse("privacy:patients") + "?q=find").content.decode()
    assert "FIND-ME" in page and "OTHER" not in page


@pytest.mark.django_db
def test_the_log_of_a_patient_names_who_opened_what(privacy_officer, staff, specialist, patient) -> None:
    open_record(staff, patient)
    client_for(specialist).get(reverse("patients:history", kwargs={"pk": patient.pk}))
    staff.first_name = "Renamed"
    staff.save()
    page = client_for(privacy_officer).get(log_url(patient)).content.decode()
    for text in ("staff_a", "Clinic staff", "patient page", "spec_a", "Specialist", "history", "access log"):
        assert text in page, text
    assert "Renamed" not in page
    assert "3 openings" in page  # the staff's, the specialist's and this look at the log


@pytest.mark.django_db
def test_the_export_lists_the_patients_log_only(privacy_officer, staff, patient, site_a) -> None:
    other = PatientFactory(site=site_a)
    open_record(staff, patient, times=2)
    open_record(staff, other)
    rows = exported(client_for(privacy_officer), patient)
    assert rows[0] == ["when", "name", "username", "role", "what", "address", "method", "IP address"]
    body = rows[1:]
    assert [r[4] for r in body] == ["access log export", "patient page", "patient page"]  # newest first
    assert body[1][1:4] == ["staff_a", "staff_a", "Clinic staff"]
    assert body[1][5:] == [reverse("patients:detail", kwargs={"pk": patient.pk}), "GET", "127.0.0.1"]
    assert PatientAccess.objects.filter(patient=other).count() == 1


@pytest.mark.django_db
def test_the_export_is_safe_to_open_in_a_spreadsheet(privacy_officer, patient, site_a) -> None:
    sly = make_user("@SUM(1+1)", Role.STAFF, site_a)
    sly.first_name, sly.last_name = '=HYPERLINK("http://x.example","click")', ""
    sly.save()
    client_for(sly).get(reverse("patients:detail", kwargs={"pk": patient.pk}) + "?q=-1+2")
    row = exported(client_for(privacy_officer), patient)[2]
    assert row[1] == '\'=HYPERLINK("http://x.example","click")'
    assert row[2] == "'@SUM(1+1)"
    assert row[5] == reverse("patients:detail", kwargs={"pk": patient.pk}) + "?q=-1+2"  # starts with /: text
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)


@pytest.mark.django_db
def test_another_sites_officer_sees_neither_log_nor_export(privacy_officer_b, staff, patient) -> None:
    open_record(staff, patient)
    client = client_for(privacy_officer_b)
    assert client.get(log_url(patient)).status_code == 404
    assert client.get(export_url(patient)).status_code == 404
    assert patient.identifier not in client.get(reverse("privacy:patients")).content.decode()
    assert PatientAccess.objects.filter(user=privacy_officer_b).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "patients:list",
        "patients:detail",
        "patients:history",
        "patients:export",
        "referrals:queue",
        "referrals:dashboard",
    ],
)
def test_nothing_clinical_for_a_privacy_officer(privacy_officer, patient, name) -> None:
    kwargs = {"pk": patient.pk} if name.startswith("patients:") and name != "patients:list" else {}
    assert client_for(privacy_officer).get(reverse(name, kwargs=kwargs)).status_code == 403


# --- query budgets ---------------------------------------------------------------------------------


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_patient_list_is_constant(privacy_officer, staff, site_a) -> None:
    client, url = client_for(privacy_officer), reverse("privacy:patients")
    open_record(staff, PatientFactory(site=site_a))
    one = count(client, url)
    for _ in range(49):
        open_record(staff, PatientFactory(site=site_a), times=2)
    # session, user, count, page of patients (access count and last access aggregated)
    assert one == count(client, url) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["log", "export"])
def test_a_patients_log_and_export_are_constant(privacy_officer, staff, specialist, site_a, which) -> None:
    small, big = PatientFactory(site=site_a), PatientFactory(site=site_a)
    open_record(staff, small)
    open_record(staff, big, times=25)
    open_record(specialist, big, times=25)
    url = log_url if which == "log" else export_url
    client = client_for(privacy_officer)
    # session, user, patient+site, the access-log row (INSERT), then the log: count and page; the export: rows
    assert count(client, url(small)) == count(client, url(big)) == (6 if which == "log" else 5)
