"""Every change to clinical data says why: the forms ask, the services refuse a blank reason.

Edits and deletes need a reason (the form's field, and the service whatever the
form did); a new record may have one, else it is kept as "recorded"; an import
records the case file it came from.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from patients import services
from patients.models import Observation, Patient
from tests.clock import TODAY
from tests.patients.factories import ObservationFactory
from tests.patients.test_locking import KINDS, RECORD_KINDS, SUBJECTS, edit_url, fresh, history_rows

DAY = TODAY - timedelta(days=40)
BLANKS = ["", "   "]


@pytest.mark.django_db
@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("kind", KINDS)
def test_an_edit_without_a_reason_is_refused_by_the_form(kind, blank, patient, spec_client) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    before, audit = s.read(fresh(kind, row)), history_rows(kind, row)
    reason_field = "why-reason" if kind == "details" else "reason"
    data = {**s.post(row, s.mine), reason_field: blank, "version": "1"}
    r = spec_client.post(edit_url(kind, row), data)
    assert r.status_code == 200
    form = r.context["reason_form"] if kind == "details" else r.context["form"]
    assert "reason" in form.errors
    now = fresh(kind, row)
    assert now.version == 1 and s.read(now) == before and history_rows(kind, row) == audit


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_the_edit_forms_say_the_reason_is_required(kind, patient, spec_client) -> None:
    page = spec_client.get(edit_url(kind, SUBJECTS[kind].make(patient))).content.decode()
    assert "Required: kept in the patient" in page


@pytest.mark.django_db
@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("kind", KINDS)
def test_an_edit_without_a_reason_is_refused_by_the_service(kind, blank, patient, specialist) -> None:
    s = SUBJECTS[kind]
    row = s.make(patient)
    before, audit = s.read(fresh(kind, row)), history_rows(kind, row)
    mine = fresh(kind, row)
    s.apply(mine, s.mine)
    with pytest.raises(services.RecordError) as err:
        if kind in ("details", "diagnosis"):
            services.save_patient(actor=specialist, patient=mine, seen_version=1, reason=blank)
        else:
            services.save_record(actor=specialist, record=mine, seen_version=1, reason=blank)
    assert err.value.field == "reason"
    now = fresh(kind, row)
    assert now.version == 1 and s.read(now) == before and history_rows(kind, row) == audit


@pytest.mark.django_db
@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_a_delete_without_a_reason_is_refused_by_the_service(kind, blank, patient, specialist) -> None:
    row = SUBJECTS[kind].make(patient)
    audit = history_rows(kind, row)
    with pytest.raises(services.RecordError):
        services.delete_record(actor=specialist, record=fresh(kind, row), seen_version=1, reason=blank)
    assert fresh(kind, row).version == 1 and history_rows(kind, row) == audit


@pytest.mark.django_db
def test_a_delete_without_a_reason_is_refused_by_the_form(patient, spec_client) -> None:
    obs = ObservationFactory(patient=patient, code="egfr", date=DAY, value=80)
    url = reverse("patients:record_delete", kwargs={"pk": patient.pk, "kind": "observations", "rid": obs.pk})
    r = spec_client.post(url, {"reason": "  ", "version": "1"})
    assert r.status_code == 200 and "reason" in r.context["form"].errors
    assert Observation.objects.filter(pk=obs.pk).exists() and Observation.history.filter(id=obs.pk).count() == 1


@pytest.mark.django_db
def test_the_edit_of_the_observation_through_the_egfr_keeps_the_reason(patient, specialist) -> None:
    """The eGFR computed from a creatinine replaces that day's eGFR with the creatinine's reason, or says where
    it came from."""
    egfr = ObservationFactory(patient=patient, code="egfr", date=DAY, value=80)
    creatinine = Observation(patient=patient, code="creatinine", date=DAY, value=Decimal("1.0"))
    services.record_observation(actor=specialist, observation=creatinine, add_egfr=True)
    assert Observation.history.filter(id=egfr.pk).latest("history_id").history_change_reason == (
        "computed from creatinine (CKD-EPI 2021)"
    )
    assert Observation.history.get(id=creatinine.pk).history_change_reason == services.NEW_RECORD_REASON


@pytest.mark.django_db
@pytest.mark.parametrize("kind", RECORD_KINDS)
def test_a_new_record_without_a_reason_is_kept_as_recorded(kind, patient, spec_client) -> None:
    s = SUBJECTS[kind]
    data = {**s.post(None, s.mine), "reason": ""}
    r = spec_client.post(reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": kind}), data)
    assert r.status_code == 302, r.context["form"].errors
    row = s.model.history.get(patient_id=patient.pk, history_type="+")
    assert row.history_change_reason == "recorded"


@pytest.mark.django_db
def test_a_new_record_keeps_a_reason_given(patient, spec_client) -> None:
    data = {**SUBJECTS["observations"].post(None, "72"), "reason": "result phoned through"}
    spec_client.post(reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": "observations"}), data)
    assert Observation.history.get(patient_id=patient.pk).history_change_reason == "result phoned through"


@pytest.mark.django_db
def test_a_new_patient_is_recorded_as_created(spec_client, site_a) -> None:
    spec_client.post(reverse("patients:create"), {"site": site_a.pk, "identifier": "NEW-9"})
    assert Patient.history.get(identifier="NEW-9").history_change_reason == "patient created"


@pytest.mark.django_db
def test_an_import_records_the_case_file_as_the_reason(site_a, specialist) -> None:
    from patients.casefiles import import_cases
    from tests.referrals.factories import load_case

    case = load_case("refractory-nephritis")
    import_cases(actor=specialist, site=site_a, cases=[case])
    import_cases(actor=specialist, site=site_a, cases=[case])  # again: an update over the patient
    patient = Patient.objects.get(identifier=case["case_id"])
    reasons = set(patient.history.values_list("history_change_reason", flat=True))
    reasons |= set(Observation.history.filter(patient_id=patient.pk).values_list("history_change_reason", flat=True))
    assert reasons == {f"imported from case file {case['case_id']}"}


@pytest.mark.django_db
def test_an_import_without_a_reason_is_refused(site_a, specialist) -> None:
    with pytest.raises(services.RecordError):
        services.replace_patient_record(actor=specialist, site=site_a, case={"case_id": "X", "patient": {}}, reason=" ")
    assert not Patient.objects.filter(identifier="X").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_the_forms_themselves_require_a_reason_for_an_edit_not_for_a_new_record(kind, patient) -> None:
    from clinic.views import KINDS as FORMS
    from clinic.views import _form_kwargs
    from patients import forms

    s = SUBJECTS[kind]
    row = s.make(patient)
    data = {**s.post(row, s.mine), "reason": "", "version": "1"}
    if kind == "details":
        assert not forms.ReasonForm({"why-reason": ""}, prefix="why").is_valid()
        return
    if kind == "diagnosis":
        form = forms.ClassificationForm(data, instance=fresh(kind, row))
        assert not form.is_valid() and "reason" in form.errors
        return
    form_class = FORMS[kind].form
    edit = form_class(data, instance=fresh(kind, row), **_form_kwargs(kind, patient))
    assert not edit.is_valid() and list(edit.errors) == ["reason"]
    fresh(kind, row).delete()
    new = form_class(data, **_form_kwargs(kind, patient))
    assert new.is_valid(), new.errors
