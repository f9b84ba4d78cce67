"""The specialist's forms: they save, compute, convert, catch mistakes, and audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from patients.models import Assessment, Observation, Patient, TreatmentCourse
from tests.clock import TODAY
from tests.patients.factories import AssessmentFactory, ObservationFactory, TreatmentFactory

FUTURE = (TODAY + timedelta(days=30)).isoformat()


def add_url(patient: Patient, kind: str) -> str:
    return reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": kind})


def sledai_post(day: str, present=(), not_assessed=(), **extra) -> dict[str, str]:
    from clinical.vocab import SLEDAI_ITEMS

    data = {"date": day, "window_days": "10", "pga": "1.5", **extra}
    for code in SLEDAI_ITEMS:
        data[f"sledai_{code}"] = "present" if code in present else "not_assessed" if code in not_assessed else "absent"
    return data


def sdi_post(present=(), **extra) -> dict[str, str]:
    """Every SLICC/ACR damage item answered: 1 for those in ``present``, No for the rest."""
    from clinical.vocab import SDI_ITEMS

    return {**{f"sdi_{code}": "1" if code in present else "0" for code in SDI_ITEMS}, **extra}


def errors(response) -> dict[str, list[str]]:
    return {k: [str(e) for e in v] for k, v in response.context["form"].errors.items()}


@pytest.mark.django_db
def test_create_patient(spec_client, site_a) -> None:
    r = spec_client.post(
        reverse("patients:create"),
        {
            "site": site_a.pk,
            "identifier": "NEW-1",
            "birth_date": "1990-02-03",
            "sex": "female",
            "weight_kg": "61.5",
        },
    )
    patient = Patient.objects.get(identifier="NEW-1")
    assert r.status_code == 302 and r["Location"] == reverse("patients:detail", kwargs={"pk": patient.pk})
    assert patient.history.first().history_user.username == "spec_a"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value,message",
    [
        ("identifier", "bad id!", "letters, digits"),
        ("birth_date", FUTURE, "in the future"),
        ("birth_date", "1899-01-01", "1900"),
        ("weight_kg", "12", "between 20 and 300"),
    ],
)
def test_patient_form_errors_name_the_field(spec_client, site_a, field, value, message) -> None:
    data = {
        "site": site_a.pk,
        "identifier": "P-9",
        "birth_date": "1990-02-03",
        "sex": "female",
        "weight_kg": "60",
        field: value,
    }
    r = spec_client.post(reverse("patients:create"), data)
    assert r.status_code == 200
    assert message in " ".join(errors(r)[field])
    assert not Patient.objects.filter(identifier="P-9").exists()


@pytest.mark.django_db
def test_duplicate_identifier_refused(spec_client, site_a, patient) -> None:
    r = spec_client.post(reverse("patients:create"), {"site": site_a.pk, "identifier": patient.identifier})
    assert "identifier" in str(r.context["form"].errors).lower() or "already exists" in str(r.context["form"].errors)
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_record_assessment_computes_scores(spec_client, patient) -> None:
    r = spec_client.post(
        add_url(patient, "assessments"),
        sledai_post(
            "2026-10-01", present=["arthritis", "rash", "low_complement"], not_assessed=["increased_dna_binding"]
        ),
    )
    assert r.status_code == 302
    a = Assessment.objects.get(patient=patient)
    assert (a.sledai_low, a.sledai_high, a.csledai_low, a.csledai_high) == (8, 10, 6, 6)
    assert a.sledai_present == ["arthritis", "rash", "low_complement"]


@pytest.mark.django_db
def test_assessment_errors(spec_client, patient) -> None:
    AssessmentFactory(patient=patient, date=date(2026, 9, 1))
    r = spec_client.post(add_url(patient, "assessments"), sledai_post("2026-09-01"))
    assert "already an assessment on this date" in " ".join(errors(r)["date"])
    r = spec_client.post(add_url(patient, "assessments"), sledai_post(FUTURE))
    assert "in the future" in " ".join(errors(r)["date"])
    r = spec_client.post(add_url(patient, "assessments"), sledai_post("2026-09-02", pga="3.4"))
    assert "pga" in errors(r)
    assert Assessment.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db
def test_sledai_preview_scores_on_the_server(spec_client) -> None:
    r = spec_client.post(
        reverse("patients:sledai_preview"),
        sledai_post("2026-01-01", present=["seizure", "fever"], not_assessed=["low_complement"]),
    )
    assert r.json() == {
        "low": 9,
        "high": 11,
        "clinical_low": 9,
        "clinical_high": 9,
        "not_assessed": 1,
        "unanswered": 0,
        "band": "moderate",
    }


@pytest.mark.django_db
def test_lab_in_micromol_is_converted_and_egfr_computed(spec_client, patient) -> None:
    r = spec_client.post(
        add_url(patient, "observations"),
        {
            "code": "creatinine",
            "date": "2026-10-01",
            "value": "88.4",
            "unit": "µmol/L",
            "add_egfr": "on",
        },
    )
    assert r.status_code == 302, errors(r)
    creat = Observation.objects.get(patient=patient, code="creatinine")
    assert creat.value == Decimal("1.0000")
    egfr = Observation.objects.get(patient=patient, code="egfr")
    # CKD-EPI 2021: female, 36 years on 2026-10-01, creatinine 1.0 mg/dL
    assert Decimal("70") < egfr.value < Decimal("76")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"code": "creatinine", "value": "88.4", "unit": "g/L"}, "unit", "is not a unit of Creatinine: use mg/dL or"),
        ({"code": "hemoglobin", "value": "130", "unit": "g/dL"}, "value", "plausible range"),
        ({"code": "egfr", "value": "80", "unit": "mL/min/1.73m²", "add_egfr": "on"}, "add_egfr", "creatinine"),
        ({"code": "alt", "value": "30", "unit": "U/L", "uln": "0"}, "uln", "above 0"),
    ],
)
def test_lab_errors(spec_client, patient, data, field, message) -> None:
    r = spec_client.post(add_url(patient, "observations"), {"date": "2026-10-01", **data})
    assert message in " ".join(errors(r)[field])
    assert not Observation.objects.exists()


@pytest.mark.django_db
def test_duplicate_lab_refused(spec_client, patient) -> None:
    ObservationFactory(patient=patient, code="egfr", date=date(2026, 10, 1))
    r = spec_client.post(
        add_url(patient, "observations"), {"code": "egfr", "date": "2026-10-01", "value": "70", "unit": "mL/min/1.73m²"}
    )
    assert "already recorded on this date" in " ".join(errors(r)["date"])


@pytest.mark.django_db
def test_treatment_course(spec_client, patient) -> None:
    r = spec_client.post(
        add_url(patient, "treatments"),
        {
            "drug": "mycophenolate_mofetil",
            "start": "2025-01-10",
            "end": "2025-09-01",
            "dose": "2000",
            "dose_unit": "mg/day",
            "stop_reason": "inadequate_response",
        },
    )
    assert r.status_code == 302
    assert TreatmentCourse.objects.get(patient=patient).stop_reason == "inadequate_response"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"end": "2024-12-01"}, "end", "before it starts"),
        ({"dose_unit": "mg/week"}, "dose_unit", "dosed in mg/day"),
        ({"start": FUTURE, "end": ""}, "start", "in the future"),
        ({"end": "", "stop_reason": "remission"}, "stop_reason", "needs an end date"),
        ({"drug": "aspirin"}, "drug", "valid choice"),
        ({"dose": "-1"}, "dose", "negative"),
    ],
)
def test_treatment_errors(spec_client, patient, data, field, message) -> None:
    base = {
        "drug": "azathioprine",
        "start": "2025-01-10",
        "end": "2025-06-01",
        "dose": "150",
        "dose_unit": "mg/day",
        "stop_reason": "",
    }
    r = spec_client.post(add_url(patient, "treatments"), {**base, **data})
    assert message in " ".join(errors(r)[field]), errors(r)
    assert not TreatmentCourse.objects.exists()


@pytest.mark.django_db
def test_edit_and_delete_are_audited_with_reason(spec_client, patient) -> None:
    course = TreatmentFactory(
        patient=patient, drug="azathioprine", dose=100, dose_unit="mg/day", start=date(2025, 1, 1)
    )
    edit = reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": "treatments", "rid": course.pk})
    r = spec_client.post(
        edit,
        {
            "drug": "azathioprine",
            "start": "2025-01-01",
            "dose": "150",
            "dose_unit": "mg/day",
            "reason": "dose typo",
            "version": 1,
        },
    )
    assert r.status_code == 302
    delete = reverse("patients:record_delete", kwargs={"pk": patient.pk, "kind": "treatments", "rid": course.pk})
    assert spec_client.get(delete).status_code == 200  # asks for confirmation first
    assert spec_client.post(delete, {"reason": "", "version": 2}).status_code == 200  # a reason is required
    assert TreatmentCourse.objects.filter(pk=course.pk).exists()
    r = spec_client.post(delete, {"reason": "entered on the wrong patient", "version": 2})
    assert r.status_code == 302 and not TreatmentCourse.objects.filter(pk=course.pk).exists()
    history = list(TreatmentCourse.history.filter(id=course.pk).order_by("history_date"))
    assert [h.history_type for h in history] == ["+", "~", "-"]
    assert [h.history_change_reason for h in history[1:]] == ["dose typo", "entered on the wrong patient"]
    assert all(h.history_user and h.history_user.username == "spec_a" for h in history[1:])
    page = spec_client.get(reverse("patients:history", kwargs={"pk": patient.pk})).content.decode()
    assert "entered on the wrong patient" in page and "dose typo" in page and "100" in page and "150" in page


@pytest.mark.django_db
def test_classification_is_computed_not_typed(spec_client, patient) -> None:
    r = spec_client.post(
        reverse("patients:classification", kwargs={"pk": patient.pk}),
        {
            "ana_titre": "160",
            "criteria_assessed": "on",
            "criteria": ["joint_involvement", "anti_dsdna_or_anti_sm", "low_c3_or_low_c4"],
            "reason": "clinic letter",
            "version": patient.version,
        },
    )
    assert r.status_code == 302
    patient.refresh_from_db()
    assert patient.eular_criteria == ["joint_involvement", "low_c3_or_low_c4", "anti_dsdna_or_anti_sm"]
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    assert "criteria met" in page and ">15<" in page


@pytest.mark.django_db
def test_criteria_not_assessed_is_kept_apart_from_none_present(spec_client, patient) -> None:
    url = reverse("patients:classification", kwargs={"pk": patient.pk})
    spec_client.post(url, {"ana_titre": "160", "reason": "not assessed yet", "version": 1})
    patient.refresh_from_db()
    assert patient.eular_criteria is None
    spec_client.post(url, {"ana_titre": "160", "criteria_assessed": "on", "reason": "assessed", "version": 2})
    patient.refresh_from_db()
    assert patient.eular_criteria == []


@pytest.mark.django_db
def test_staff_cannot_post_changes(client, staff, patient) -> None:
    client.force_login(staff)
    r = client.post(add_url(patient, "conditions"), {"code": "hiv", "status": "absent", "date": "2026-01-01"})
    assert r.status_code == 403


@pytest.mark.django_db
def test_patient_page_shows_the_record(spec_client, patient) -> None:
    AssessmentFactory(patient=patient, date=date(2026, 9, 1), sledai_low=12, sledai_high=12)
    ObservationFactory(patient=patient, code="c3", value=55, date=date(2026, 9, 1))
    TreatmentFactory(patient=patient, drug="belimumab", dose=800, dose_unit="mg/dose", start=date(2026, 3, 1))
    page = spec_client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).content.decode()
    for text in ("12", "Complement C3", "55 mg/dL", "belimumab", "sledai-chart", "Treatment history"):
        assert text in page


@pytest.mark.django_db
def test_editing_patient_details_keeps_who_and_why(spec_client, site_a, patient) -> None:
    r = spec_client.post(
        reverse("patients:edit", kwargs={"pk": patient.pk}),
        {
            "identifier": patient.identifier,
            "birth_date": "1990-05-01",
            "sex": "female",
            "weight_kg": "70",
            "why-reason": "weighed at clinic",
            "version": patient.version,
        },
    )
    assert r.status_code == 302
    latest = patient.history.order_by("-history_date").first()
    assert latest.weight_kg == Decimal("70.0") and latest.history_change_reason == "weighed at clinic"
    assert latest.history_user.username == "spec_a"


@pytest.mark.django_db
def test_a_course_of_a_drug_no_longer_in_the_catalogue_can_still_be_ended(spec_client, patient) -> None:
    course = TreatmentFactory(patient=patient, drug="retired_drug", dose=10, dose_unit="mg/day", start=date(2025, 1, 1))
    edit = reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": "treatments", "rid": course.pk})
    assert "no longer in the catalogue" in spec_client.get(edit).content.decode()
    r = spec_client.post(
        edit,
        {
            "drug": "retired_drug",
            "start": "2025-01-01",
            "end": "2025-06-01",
            "dose": "10",
            "dose_unit": "mg/day",
            "stop_reason": "other",
            "reason": "ended",
            "version": course.version,
        },
    )
    assert r.status_code == 302
    course.refresh_from_db()
    assert course.end == date(2025, 6, 1)


@pytest.mark.django_db
def test_a_record_changed_by_someone_else_is_not_overwritten(spec_client, specialist, patient) -> None:
    from patients.services import save_record

    course = TreatmentFactory(
        patient=patient, drug="azathioprine", dose=100, dose_unit="mg/day", start=date(2025, 1, 1)
    )
    edit = reverse("patients:record_edit", kwargs={"pk": patient.pk, "kind": "treatments", "rid": course.pk})
    seen = spec_client.get(edit).context["form"]["version"].value()
    theirs = TreatmentCourse.objects.get(pk=course.pk)
    theirs.dose = 125
    save_record(actor=specialist, record=theirs, seen_version=seen, reason="their change")
    r = spec_client.post(
        edit,
        {
            "drug": "azathioprine",
            "start": "2025-01-01",
            "dose": "150",
            "dose_unit": "mg/day",
            "reason": "dose changed",
            "version": seen,
        },
    )
    assert r.status_code == 409 and "Someone else changed this treatment course" in r.content.decode()
    course.refresh_from_db()
    assert course.dose == 125
