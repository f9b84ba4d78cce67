"""Who opened which patient's record: one access-log row per request to a page that shows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.append_only import AppendOnly
from patients.access_log import log_access
from patients.models import AccessKind, PatientAccess
from tests.conftest import client_for
from tests.patients.factories import ObservationFactory


def _record(patient: Any) -> dict[str, Any]:
    return {"pk": patient.pk, "kind": "observations", "rid": ObservationFactory(patient=patient).pk}


def _referral(patient: Any) -> dict[str, Any]:
    from tests.referrals.factories import make_referral

    return {"pk": make_referral(patient).pk}


# url name, kwargs from the patient, the role that opens it, what is logged
PAGES = [
    ("patients:detail", lambda p: {"pk": p.pk}, "staff", AccessKind.PATIENT_PAGE),
    ("patients:edit", lambda p: {"pk": p.pk}, "specialist", AccessKind.DETAILS_FORM),
    ("patients:classification", lambda p: {"pk": p.pk}, "specialist", AccessKind.DIAGNOSIS_FORM),
    ("patients:history", lambda p: {"pk": p.pk}, "staff", AccessKind.HISTORY),
    ("patients:export", lambda p: {"pk": p.pk}, "specialist", AccessKind.CASE_EXPORT),
    ("patients:record_add", lambda p: {"pk": p.pk, "kind": "conditions"}, "specialist", AccessKind.RECORD_FORM),
    ("patients:record_edit", _record, "specialist", AccessKind.RECORD_FORM),
    ("patients:record_delete", _record, "specialist", AccessKind.DELETE_FORM),
    ("referrals:detail", _referral, "staff", AccessKind.REFERRAL_PAGE),
    ("referrals:print", _referral, "specialist", AccessKind.REFERRAL_PRINTOUT),
    ("privacy:patient_log", lambda p: {"pk": p.pk}, "privacy_officer", AccessKind.ACCESS_LOG),
    ("privacy:patient_log_export", lambda p: {"pk": p.pk}, "privacy_officer", AccessKind.ACCESS_LOG_EXPORT),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name,kwargs,role,what", PAGES, ids=[p[0] for p in PAGES])
def test_each_page_of_a_patient_logs_one_row(request, patient, name, kwargs, role, what) -> None:
    user = request.getfixturevalue(role)
    user.first_name, user.last_name = "Mary", "Seacole"
    user.save()
    url = reverse(name, kwargs=kwargs(patient))
    response = client_for(user).get(url, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    row = PatientAccess.objects.get()
    assert (row.patient_id, row.user_id, row.user_name, row.username, row.role) == (
        patient.pk,
        user.pk,
        "Mary Seacole",
        user.username,
        user.role,
    )
    assert (row.what, row.path, row.method, row.ip) == (what, url, "GET", "10.1.2.3")


@pytest.mark.django_db
def test_a_save_through_a_form_is_logged_as_a_post(patient, spec_client) -> None:
    url = reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "conditions"})
    spec_client.post(url, {"code": "hiv", "status": "absent", "date": "2026-01-01"})
    assert list(PatientAccess.objects.values_list("what", "method")) == [(AccessKind.RECORD_FORM, "POST")]


@pytest.mark.django_db
def test_a_refused_request_logs_nothing(patient, specialist_b, staff, rules_admin) -> None:
    detail = reverse("patients:detail", kwargs={"pk": patient.pk})
    assert client_for(specialist_b).get(detail).status_code == 404  # another site's patient
    assert client_for(staff).get(reverse("patients:edit", kwargs={"pk": patient.pk})).status_code == 403
    assert client_for(rules_admin).get(detail).status_code == 403
    assert client_for(staff).get(detail.replace(str(patient.pk), "99999")).status_code == 404
    assert not PatientAccess.objects.exists()


@pytest.mark.django_db
def test_pages_of_many_patients_log_nothing(patient, staff) -> None:
    """The patient list and the queue name patients without opening a record."""
    client = client_for(staff)
    for name in ("patients:list", "referrals:queue"):
        assert client.get(reverse(name)).status_code == 200
    assert not PatientAccess.objects.exists()


@pytest.mark.django_db
def test_the_name_is_kept_as_it_was(patient, staff) -> None:
    client_for(staff).get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    staff.username, staff.first_name = "renamed", "Renamed"
    staff.save()
    assert PatientAccess.objects.values_list("user_name", "username").get() == ("staff_a", "staff_a")


@pytest.mark.django_db
def test_rows_are_append_only(patient, staff) -> None:
    client_for(staff).get(reverse("patients:detail", kwargs={"pk": patient.pk}))
    row = PatientAccess.objects.get()
    row.path = "/elsewhere/"
    with pytest.raises(AppendOnly):
        row.save()
    with pytest.raises(AppendOnly):
        row.delete()
    assert PatientAccess.objects.get().path != "/elsewhere/"


@pytest.mark.django_db
@pytest.mark.parametrize("address,stored", [("192.0.2.7", "192.0.2.7"), ("2001:db8::1", "2001:db8::1"), ("", None)])
def test_the_address_is_kept_when_there_is_one(patient, staff, address, stored) -> None:
    request = RequestFactory().get("/patients/1/", REMOTE_ADDR=address)
    request.user = staff
    assert log_access(request=request, patient_id=patient.pk, what=AccessKind.PATIENT_PAGE).ip == stored
