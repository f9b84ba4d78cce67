"""FHIR R4 out (GuidanceResponse, ServiceRequest) and in (mapping, units, unmapped entries, the page, the command)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinical.casefile import CaseFileError
from interop import codes
from interop.fhir_out import case_bundle
from interop.services import patient_bundle, prepare
from patients.casefiles import import_cases, validate_all
from patients.models import Patient
from screening.catalogue import drug_units
from tests.patients.factories import ObservationFactory
from tests.shipped import CASES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"


def _case(name: str) -> dict:
    return json.loads((CASES / f"{name}.json").read_text())


def _ehr_bundle(entries: list[dict]) -> str:
    patient = {"resourceType": "Patient", "id": "p", "identifier": [{"use": "official", "value": "MRN-1"}]}
    patient |= {"gender": "female", "birthDate": "1990-01-01"}
    res = [patient, *({**e, "subject": {"reference": "Patient/p"}} for e in entries)]
    return json.dumps(
        {"resourceType": "Bundle", "id": "ehr-1", "type": "collection", "entry": [{"resource": r} for r in res]}
    )


def _lab(loinc: str, value: float, unit: str, day: str = "2026-10-01", **extra) -> dict:
    q = {"value": value, "system": codes.UCUM, "code": unit}
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": codes.LOINC, "code": loinc}]},
        "effectiveDateTime": day,
        "valueQuantity": q,
        **extra,
    }


@pytest.mark.django_db
def test_results_are_guidance_responses_and_referrals_proposals(
    cases_day, site_a, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("refractory-nephritis", "no-recent-assessment"):
            cases = validate_all([(name, (CASES / f"{name}.json").read_bytes())], drugs=drug_units(), today=cases_day)
            import_cases(actor=None, site=site_a, cases=cases)
    flagged = patient_bundle(Patient.objects.get(identifier="refractory-nephritis"))
    kinds = [e["resource"]["resourceType"] for e in flagged["entry"]]
    assert kinds.count("GuidanceResponse") == 2 and kinds.count("ServiceRequest") == 2
    requests = [e["resource"] for e in flagged["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert {r["intent"] for r in requests} == {"proposal"}
    assert all(r["supportingInfo"][0]["reference"].startswith("urn:uuid:") for r in requests)
    guidance = [e["resource"] for e in flagged["entry"] if e["resource"]["resourceType"] == "GuidanceResponse"]
    assert {g["status"] for g in guidance} == {"success"}
    assert guidance[0]["moduleCodeableConcept"]["coding"][0]["code"] == "2026.2"
    params = {p["name"] for p in guidance[0]["contained"][0]["parameter"]}
    assert {"outcome", "reason", "caution"} <= params

    missing = patient_bundle(Patient.objects.get(identifier="no-recent-assessment"))
    data_required = [
        e["resource"]
        for e in missing["entry"]
        if e["resource"]["resourceType"] == "GuidanceResponse" and e["resource"]["status"] == "data-required"
    ]
    assert data_required and all(g["dataRequirement"] for g in data_required)
    for req in data_required[0]["dataRequirement"]:
        assert req["type"] in {"Patient", "Observation", "Condition", "MedicationStatement"}
        assert req["extension"][0]["valueString"]


@pytest.mark.django_db
def test_labs_are_read_by_loinc_with_their_units_converted(today, site_a) -> None:
    text = _ehr_bundle(
        [
            _lab("2160-0", 88.42, "umol/L"),  # creatinine: 1 mg/dL
            _lab("4485-9", 0.6, "g/L"),  # C3: 60 mg/dL
            _lab("1742-6", 30, "U/L", referenceRange=[{"high": {"value": 35, "system": codes.UCUM, "code": "U/L"}}]),
            _lab("718-7", 120, "mmol/L"),  # haemoglobin in a unit without a conversion
            _lab("9999-9", 1, "1"),  # a code of no table
        ]
    )
    prepared = prepare(text, site=site_a, drugs=drug_units(), today=today)
    assert prepared.case["case_id"] == "MRN-1"
    assert [(o["code"], o["value"], o.get("uln")) for o in prepared.case["observations"]] == [
        ("creatinine", 1, None),
        ("c3", 60, None),
        ("alt", 30, 35),
    ]
    assert len(prepared.mapped.unmapped) == 2
    assert (
        "entry[4] Observation" in prepared.mapped.unmapped[0]
        and "'mmol/L' has no conversion" in prepared.mapped.unmapped[0]
    )
    assert "no code of the mapping table" in prepared.mapped.unmapped[1]


@pytest.mark.django_db
def test_conditions_drugs_and_an_unattested_sle_diagnosis(today, site_a) -> None:
    text = _ehr_bundle(
        [
            {
                "resourceType": "Condition",
                "code": {"coding": [{"system": codes.SNOMED, "code": "86406008"}]},
                "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION, "code": "refuted"}]},
                "recordedDate": "2026-02-01",
            },
            {
                "resourceType": "Condition",
                "code": {"coding": [{"system": codes.SNOMED, "code": "55464009"}]},
                "verificationStatus": {"coding": [{"system": codes.CONDITION_VERIFICATION, "code": "confirmed"}]},
            },
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"coding": [{"system": codes.RXNORM, "code": "5521"}]},
                "effectivePeriod": {"start": "2020-01-01"},
                "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 400, "system": codes.UCUM, "code": "mg/d"}}]}],
            },
            {
                "resourceType": "MedicationStatement",
                "status": "completed",
                "medicationCodeableConcept": {"coding": [{"system": codes.ATC, "code": "L01AA01"}]},
                "effectivePeriod": {"start": "2025-01-01", "end": "2025-03-01"},
            },
        ]
    )
    prepared = prepare(text, site=site_a, drugs=drug_units(), today=today)
    assert prepared.case["conditions"] == [{"code": "hiv", "status": "absent", "date": "2026-02-01"}]
    assert prepared.case["treatments"] == [
        {"drug": "hydroxychloroquine", "start": "2020-01-01", "dose": 400, "dose_unit": "mg/day"}
    ]
    assert prepared.case["patient"]["sle_attested"] is False
    assert any("SLE diagnosis" in line for line in prepared.mapped.unmapped)
    assert any("cyclophosphamide without an intravenous or oral route" in line for line in prepared.mapped.unmapped)


@pytest.mark.django_db
def test_bad_input_names_the_element_and_writes_nothing(today, site_a) -> None:
    with pytest.raises(CaseFileError, match=r"entry\[0\]\.resource\.birthDate"):
        prepare(
            '{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "birthDate": "1990-13-01"}}]}',
            site=site_a,
            drugs=drug_units(),
            today=today,
        )
    future = _ehr_bundle([_lab("2160-0", 1, "mg/dL", day="2199-01-01")])
    with pytest.raises(CaseFileError, match=r"entry\[1\] Observation \(observations\[0\]"):
        prepare(future, site=site_a, drugs=drug_units(), today=today)
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_the_import_page_previews_then_imports_all_or_nothing(today, site_a, spec_client, specialist) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = json.dumps(case_bundle({**_case("refractory-nephritis"), "as_of": None}, site_code="x"))
    url = reverse("interop:import")
    upload = SimpleUploadedFile("b.json", text.encode(), content_type="application/json")
    page = spec_client.post(url, {"site": site_a.pk, "file": upload})
    assert page.status_code == 200 and b"a new patient refractory-nephritis" in page.content
    assert not Patient.objects.exists()
    digest = page.context["prepared"].digest
    done = spec_client.post(url, {"site": site_a.pk, "bundle": text, "digest": digest})
    patient = Patient.objects.get(identifier="refractory-nephritis")
    assert done.status_code == 302 and done["Location"] == reverse("patients:detail", kwargs={"pk": patient.pk})
    assert patient.history.first().history_user == specialist
    changed = spec_client.post(
        url, {"site": site_a.pk, "bundle": text.replace("1996-05-14", "1996-05-15"), "digest": digest}
    )
    assert b"Nothing was imported" in changed.content and b"changed since the preview" in changed.content


@pytest.mark.django_db
def test_the_commands_export_and_import(
    cases_day, site_a, site_b, tmp_path, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        cases = validate_all([("c", (CASES / "mild-disease.json").read_bytes())], drugs=drug_units(), today=cases_day)
        import_cases(actor=None, site=site_a, cases=cases)
    out = StringIO()
    call_command("export_fhir", "--site", site_a.code, "mild-disease", stdout=out)
    path = tmp_path / "b.json"
    path.write_text(out.getvalue())
    out = StringIO()
    call_command("import_fhir", "--site", site_b.code, str(path), stdout=out)
    assert "patient mild-disease created" in out.getvalue()
    unmapped = tmp_path / "u.json"
    unmapped.write_text(_ehr_bundle([_lab("9999-9", 1, "1")]))
    with pytest.raises(CommandError, match="1 entries cannot be imported"):
        call_command("import_fhir", "--site", site_b.code, str(unmapped), stdout=StringIO(), stderr=StringIO())
    assert not Patient.objects.filter(identifier="MRN-1").exists()


@pytest.mark.django_db
def test_query_budgets_of_the_fhir_pages(spec_client, patient) -> None:
    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert spec_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert count(reverse("interop:import")) <= 4
    url = reverse("interop:patient_bundle", kwargs={"pk": patient.pk})
    one = count(url)
    for _ in range(50):
        ObservationFactory(patient=patient)
    assert count(url) == one


def test_the_documented_tables_match_the_code() -> None:
    from interop.docs import tables

    text = DOCS.read_text(encoding="utf-8")
    for name, table in tables().items():
        block = text.split(f"<!-- BEGIN GENERATED {name} -->")[1].split(f"<!-- END GENERATED {name} -->")[0]
        assert block.strip() == table.strip(), f"docs/fhir.md table {name} is stale: python -m interop.docs --write"
