"""Database constraints: an impossible value written through the ORM fails in the database."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from patients.models import Assessment, Condition, DamageIndex, Manifestation, Observation, Patient, TreatmentCourse
from tests.patients.factories import PatientFactory


def _fails(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value",
    [
        ("weight_kg", 19),
        ("weight_kg", 301),
        ("sex", "f"),
        ("birth_date", date(1899, 12, 31)),
        ("identifier", ""),
    ],
)
def test_patient_constraints(field, value) -> None:
    patient = PatientFactory()
    setattr(patient, field, value)
    _fails(lambda: Patient.objects.filter(pk=patient.pk).update(**{field: value}))


@pytest.mark.django_db
def test_identifier_unique_per_site_but_not_across_sites() -> None:
    p = PatientFactory(identifier="X-1")
    _fails(lambda: Patient.objects.create(site=p.site, identifier="X-1"))
    PatientFactory(identifier="X-1")  # another site: fine


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs",
    [
        {"pga": 3.5},
        {"pga": -0.1},
        {"window_days": 14},
        {"sledai_low": 10, "sledai_high": 4},
        {"sledai_low": 0, "sledai_high": 106},
    ],
)
def test_assessment_constraints(kwargs) -> None:
    patient = PatientFactory()
    _fails(lambda: Assessment.objects.create(patient=patient, date=date(2026, 1, 1), **kwargs))


@pytest.mark.django_db
def test_one_record_per_date_and_code() -> None:
    patient = PatientFactory()
    d = date(2026, 1, 1)
    Assessment.objects.create(patient=patient, date=d)
    _fails(lambda: Assessment.objects.create(patient=patient, date=d))
    DamageIndex.objects.create(patient=patient, date=d)
    _fails(lambda: DamageIndex.objects.create(patient=patient, date=d))
    Observation.objects.create(patient=patient, code="egfr", date=d, value=80)
    _fails(lambda: Observation.objects.create(patient=patient, code="egfr", date=d, value=81))
    Observation.objects.create(patient=patient, code="c3", date=d, value=80)  # other code: fine
    Manifestation.objects.create(patient=patient, code="other", date=d)
    _fails(lambda: Manifestation.objects.create(patient=patient, code="other", date=d))
    Condition.objects.create(patient=patient, code="hiv", status="absent", date=d)
    _fails(lambda: Condition.objects.create(patient=patient, code="hiv", status="present", date=d))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model,kwargs",
    [
        (Observation, {"code": "egfr", "value": -1}),
        (Observation, {"code": "nonsense", "value": 1}),
        (Observation, {"code": "alt", "value": 1, "uln": 0}),
        (Manifestation, {"code": "neuropsychiatric", "biopsy_class": "IV"}),
        (Manifestation, {"code": "lupus_nephritis", "biopsy_class": "VII"}),
        (Manifestation, {"code": "kidney"}),
        (Condition, {"code": "hiv", "status": "maybe"}),
        (Condition, {"code": "flu", "status": "present"}),
        (DamageIndex, {"score": 48}),
    ],
)
def test_record_constraints(model, kwargs) -> None:
    patient = PatientFactory()
    _fails(lambda: model.objects.create(patient=patient, date=date(2026, 1, 1), **kwargs))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kwargs",
    [
        {"end": date(2025, 12, 31)},
        {"stop_reason": "remission"},
        {"end": date(2026, 2, 1), "stop_reason": "bored"},
        {"dose": -5},
    ],
)
def test_treatment_constraints(kwargs) -> None:
    patient = PatientFactory()
    base = {"drug": "azathioprine", "start": date(2026, 1, 1), "dose": 100, "dose_unit": "mg/day"}
    _fails(lambda: TreatmentCourse.objects.create(patient=patient, **{**base, **kwargs}))
