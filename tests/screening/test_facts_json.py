"""The facts stored beside a result are hashed to find unchanged results: their JSON must not change when
the way it is written does (``screening.facts.facts_to_json``)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from patients.models import Patient
from screening import engine
from screening.contract import content_hash
from screening.facts import facts_for, facts_to_json
from tests.screening.engine.test_properties import patients
from tests.shipped import case_paths


def reference(value: Any) -> Any:
    """The JSON as first written: ``dataclasses.asdict``, then dates ISO, decimals as strings, tuples as lists."""

    def plain(v: Any) -> Any:
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v.normalize())
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    data = dataclasses.asdict(value)
    data.pop("refs", None)
    return plain(data)


@pytest.mark.django_db
def test_the_facts_json_of_every_shipped_case_is_what_it_was(site_a) -> None:
    from tests.screening.conftest import import_named

    import_named(site_a, *(p.stem for p in case_paths()))
    patients = list(Patient.objects.order_by("pk"))
    facts = facts_for(patients)
    assert len(facts) == len(case_paths())
    for patient in patients:
        assert facts_to_json(facts[patient.pk]) == reference(facts[patient.pk])
        assert content_hash(facts_to_json(facts[patient.pk])) == content_hash(reference(facts[patient.pk]))


def test_a_facts_json_holds_no_dataclass_tuple_date_or_decimal() -> None:
    facts = engine.PatientFacts(birth_date=date(1990, 1, 2), sex="F", weight_kg=Decimal("70.50"))
    data = facts_to_json(facts)
    assert data == reference(facts)
    assert data["birth_date"] == "1990-01-02" and data["weight_kg"] == "70.5"
    assert "refs" not in data


@pytest.mark.django_db
def test_facts_read_as_rows_are_the_facts_of_the_records_read_as_models(site_a) -> None:
    """``facts_for`` reads named rows, not model instances (half the load); the patient page builds the same
    facts from the records it has read as models: both must give the very same facts."""
    from patients.models import Assessment, Condition, DamageIndex, Manifestation, Observation, TreatmentCourse
    from screening.facts import facts_from_records
    from tests.screening.conftest import import_named

    import_named(site_a, *(p.stem for p in case_paths()))
    patients = list(Patient.objects.order_by("pk"))
    rows = facts_for(patients)
    for patient in patients:
        mine = {"patient": patient}
        models = facts_from_records(
            patient,
            assessments=Assessment.objects.filter(**mine).order_by("date", "pk"),
            damage=DamageIndex.objects.filter(**mine).order_by("date", "pk"),
            manifestations=Manifestation.objects.filter(**mine).order_by("date", "pk"),
            observations=Observation.objects.filter(**mine).order_by("date", "pk"),
            treatments=TreatmentCourse.objects.filter(**mine).order_by("start", "pk"),
            conditions=Condition.objects.filter(**mine).order_by("date", "pk"),
        )
        assert rows[patient.pk] == models
        assert facts_to_json(rows[patient.pk]) == facts_to_json(models)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient=patients())
def test_the_facts_json_of_generated_patients_is_the_reference(patient: engine.PatientFacts) -> None:
    """Every field of every record kind, with and without its optional values."""
    assert facts_to_json(patient) == reference(patient)
