"""Round trip through FHIR: every public case, imported as a case file, exported as a FHIR Bundle and
imported into an empty site, holds the same record and screens to the same outcomes and caution statuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from interop.services import dump_bundle, import_prepared, patient_bundle, prepare
from patients.casefiles import export_case, import_cases, validate_all
from patients.models import Patient
from screening.catalogue import drug_units
from screening.contract import read_result
from screening.models import ScreeningResult
from tests.shipped import EXPECTED_PATH, case_paths

EXPECTED: dict[str, Any] = json.loads(EXPECTED_PATH.read_text(encoding="utf-8"))


def _screened(patient: Patient) -> dict[str, Any]:
    result = ScreeningResult.objects.filter(patient=patient).order_by("-pk").first()
    assert result is not None
    view = read_result(result)
    return {
        p.id: {"outcome": p.outcome.value, "cautions": {c.id: c.status.value for c in p.cautions}}
        for p in view.pathways
    }


@pytest.mark.django_db
@pytest.mark.parametrize("path", case_paths(), ids=lambda p: p.stem)
def test_every_public_case_survives_fhir(
    path: Path, cases_day, site_a, site_b, specialist_b, django_capture_on_commit_callbacks
) -> None:
    drugs = drug_units()
    with django_capture_on_commit_callbacks(execute=True):
        cases = validate_all([(path.name, path.read_bytes())], drugs=drugs, today=cases_day)
        import_cases(actor=None, site=site_a, cases=cases)
    original = Patient.objects.get(site=site_a)

    text = dump_bundle(patient_bundle(original))
    with django_capture_on_commit_callbacks(execute=True):
        prepared = prepare(text, site=site_b, drugs=drugs, today=cases_day)
        assert prepared.mapped.unmapped == []
        assert prepared.existing is None
        import_prepared(actor=specialist_b, site=site_b, prepared=prepared)
    copy = Patient.objects.get(site=site_b)

    assert export_case(copy) == export_case(original)
    assert _screened(copy) == _screened(original) == EXPECTED[original.identifier]
    history = copy.history.order_by("-history_id").first()
    assert history.history_change_reason == f"imported from FHIR bundle {site_a.code}-{original.identifier}"
    assert history.history_user == specialist_b
