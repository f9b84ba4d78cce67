"""One set of plausibility rules: what a record form refuses, case-file import refuses, in the same words.

Before issue 10, import stored what the forms refused (records in the future or before birth, labs out of
range). Both now ask ``clinical.plausibility``; each row here sends one implausible value both ways.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from clinical.casefile import CaseFileError
from patients.casefiles import validate_all
from patients.models import Patient
from screening.catalogue import drug_units
from tests.clock import TODAY
from tests.test_bad_input import RECORD_BASE

BORN = "1990-05-01"  # the conftest patient's birth date
LATER = (TODAY + timedelta(days=3)).isoformat()


def case_file(change: Callable[[dict[str, Any]], Any]) -> bytes:
    day = (TODAY - timedelta(days=5)).isoformat()
    case: dict[str, Any] = {
        "format": "sle-screening-case/1",
        "case_id": "SAME-1",
        "patient": {"birth_date": BORN, "sex": "female", "weight_kg": 60},
        "classification": {"ana_titre": 640},
        "assessments": [{"date": day, "sledai2k": {"present": []}}],
        "observations": [{"code": "egfr", "date": day, "value": 80}],
        "treatments": [{"drug": "azathioprine", "start": day, "dose": 100, "dose_unit": "mg/day"}],
        "conditions": [{"code": "hiv", "status": "absent", "date": day}],
    }
    change(case)
    return json.dumps(case).encode()


def entry(key: str, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda case: case[key][0].update(values)


ROWS = [
    (
        "before-birth",
        "assessments",
        {"date": "1989-12-31"},
        entry("assessments", date="1989-12-31"),
        "must not be before the birth date (1990-05-01)",
    ),
    (
        "in-the-future",
        "conditions",
        {"date": LATER},
        entry("conditions", date=LATER),
        f"cannot be in the future ({LATER} is after today",
    ),
    (
        "year-1",
        "observations",
        {"date": "0001-01-01"},
        entry("observations", date="0001-01-01"),
        "must not be before 1900-01-01",
    ),
    (
        "course-before-birth",
        "treatments",
        {"start": "1980-01-01"},
        entry("treatments", start="1980-01-01"),
        "must not be before the birth date",
    ),
    ("course-ends-later", "treatments", {"end": LATER}, entry("treatments", end=LATER), "cannot be in the future"),
    (
        "lab-out-of-range",
        "observations",
        {"value": "250"},
        entry("observations", value=250),
        "is outside the plausible range of eGFR, 0–200",
    ),
    ("uln-out-of-range", "observations", {"uln": "500"}, entry("observations", uln=500), "must be at most 200"),
    (
        "dose-too-high",
        "treatments",
        {"dose": "200000"},
        entry("treatments", dose=200000),
        "must be between 0 and 100000",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind,form_change,case_change,words", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_the_form_and_the_import_refuse_the_same_value_in_the_same_words(
    spec_client, patient: Patient, kind: str, form_change: dict[str, Any], case_change: Any, words: str
) -> None:
    response = spec_client.post(
        reverse("patients:record_add", kwargs={"pk": patient.pk, "kind": kind}), {**RECORD_BASE[kind](), **form_change}
    )
    assert response.status_code == 200
    form_errors = " ".join(str(e) for errors in response.context["form"].errors.values() for e in errors)
    assert words in form_errors
    with pytest.raises(CaseFileError) as refused:
        validate_all([("same.json", case_file(case_change))], drugs=drug_units(), today=TODAY)
    assert words in refused.value.message


@pytest.mark.django_db
def test_the_base_case_file_is_accepted() -> None:
    [case] = validate_all([("same.json", case_file(lambda c: None))], drugs=drug_units(), today=TODAY)
    assert case["case_id"] == "SAME-1"


@pytest.mark.django_db
def test_a_birth_date_after_a_record_is_refused_on_the_patient_form(spec_client, patient: Patient) -> None:
    from tests.patients.factories import ConditionFactory

    ConditionFactory(patient=patient, date=TODAY - timedelta(days=400))
    later = (TODAY - timedelta(days=100)).isoformat()
    data = {
        "site": patient.site_id,
        "identifier": patient.identifier,
        "birth_date": later,
        "sex": "female",
        "version": 1,
    }
    response = spec_client.post(reverse("patients:edit", kwargs={"pk": patient.pk}), data)
    assert response.status_code == 200
    assert "cannot be after the patient's oldest record" in response.context["form"].errors["birth_date"][0]
    patient.refresh_from_db()
    assert patient.birth_date.isoformat() == BORN
